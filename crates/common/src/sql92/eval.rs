//! Evaluation, with Java's three-valued logic and its comparison rules
//! (`ComparisonExpression.__compare` with string conversion on, as `SelectorParser.parse`
//! always sets it).

use super::{CmpOp, Expr, SqlError, Value};
use std::cmp::Ordering;

/// What Java throws while evaluating: the message is then not selected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A property value that is not a number of the constant's type
    /// (`NumberFormatException`).
    #[error("java.lang.NumberFormatException: For input string: \"{0}\"")]
    NotANumber(String),
    /// Java casts the Boolean to a String when a boolean meets a string on the left
    /// (`ClassCastException`).
    #[error("java.lang.ClassCastException: java.lang.Boolean cannot be cast to java.lang.String")]
    BooleanAsString,
    /// A null reached a comparison Java does not guard (`NullPointerException`).
    #[error("java.lang.NullPointerException")]
    Null,
}

impl EvalError {
    /// The same failure at compile time (the BETWEEN bound check compares constants).
    pub(super) fn into_sql(self) -> SqlError {
        SqlError::new("java.lang.RuntimeException", self.to_string())
    }
}

impl Expr {
    pub(super) fn eval<'a>(
        &'a self,
        property: &dyn Fn(&str) -> Option<&'a str>,
    ) -> Result<Value<'a>, EvalError> {
        Ok(match self {
            Expr::Literal(literal) => literal.value(),
            Expr::Property(name) => property(name).map_or(Value::Null, Value::Str),
            Expr::Negate(inner) => match inner.eval(property)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Long(l) => Value::Long(l.wrapping_neg()),
                Value::Double(d) => Value::Double(-d),
                _ => Value::Null,
            },
            Expr::Not(inner) => match inner.eval(property)? {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Expr::BoolCast(inner) => match inner.eval(property)? {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                _ => Value::Bool(false),
            },
            Expr::And(l, r) => {
                let lv = l.eval(property)?;
                if lv == Value::Bool(false) {
                    return Ok(lv);
                }
                let rv = r.eval(property)?;
                if rv == Value::Bool(false) {
                    return Ok(rv);
                }
                if lv == Value::Null || rv == Value::Null {
                    Value::Null
                } else {
                    Value::Bool(true)
                }
            }
            Expr::Or(l, r) => {
                let lv = l.eval(property)?;
                if lv == Value::Bool(true) {
                    return Ok(lv);
                }
                let rv = r.eval(property)?;
                if rv == Value::Bool(true) {
                    return Ok(rv);
                }
                if lv == Value::Null || rv == Value::Null {
                    Value::Null
                } else {
                    Value::Bool(false)
                }
            }
            Expr::Compare(CmpOp::Eq, l, r) => {
                let (lv, rv) = (l.eval(property)?, r.eval(property)?);
                match (lv, rv) {
                    (Value::Null, Value::Null) => Value::Bool(true),
                    (Value::Null, _) => Value::Null,
                    (_, Value::Null) => Value::Bool(false),
                    _ => Value::Bool(compare(&lv, &rv)?.is_eq()),
                }
            }
            Expr::Compare(op, l, r) => {
                let lv = l.eval(property)?;
                if lv == Value::Null {
                    return Ok(Value::Null);
                }
                let rv = r.eval(property)?;
                if rv == Value::Null {
                    return Ok(Value::Null);
                }
                let order = match (lv, rv) {
                    // Two strings are compared as numbers.
                    (Value::Str(a), Value::Str(b)) => {
                        java_double_cmp(parse_double(a)?, parse_double(b)?)
                    }
                    _ => compare(&lv, &rv)?,
                };
                Value::Bool(match op {
                    CmpOp::Gt => order.is_gt(),
                    CmpOp::Ge => order.is_ge(),
                    CmpOp::Lt => order.is_lt(),
                    CmpOp::Le => order.is_le(),
                    CmpOp::Eq => order.is_eq(),
                })
            }
            Expr::In {
                property: name,
                values,
                negated,
            } => match property(name) {
                None => Value::Null,
                Some(value) => Value::Bool(values.iter().any(|v| v == value) ^ negated),
            },
        })
    }
}

/// Java's `__compare(lv, rv, true)`: values of different types are converted towards the
/// wider number, or a string towards the other operand's type; pairs it cannot convert
/// compare as "less" (Java's `-1`).
pub(super) fn compare(lv: &Value<'_>, rv: &Value<'_>) -> Result<Ordering, EvalError> {
    use Value::*;
    Ok(match (*lv, *rv) {
        (Null, _) | (_, Null) => return Err(EvalError::Null),
        (Bool(a), Bool(b)) => a.cmp(&b),
        (Bool(_), Str(_)) => return Err(EvalError::BooleanAsString),
        (Int(a), Int(b)) => a.cmp(&b),
        (Int(a), Long(b)) => i64::from(a).cmp(&b),
        (Int(a), Double(b)) => java_double_cmp(f64::from(a), b),
        (Int(a), Str(s)) => a.cmp(&parse_int(s)?),
        (Long(a), Long(b)) => a.cmp(&b),
        (Long(a), Int(b)) => a.cmp(&i64::from(b)),
        (Long(a), Double(b)) => java_double_cmp(a as f64, b),
        (Long(a), Str(s)) => a.cmp(&parse_long(s)?),
        (Double(a), Double(b)) => java_double_cmp(a, b),
        (Double(a), Int(b)) => java_double_cmp(a, f64::from(b)),
        (Double(a), Long(b)) => java_double_cmp(a, b as f64),
        (Double(a), Str(s)) => java_double_cmp(a, parse_double(s)?),
        (Str(a), Str(b)) => a.encode_utf16().cmp(b.encode_utf16()),
        (Str(s), Bool(b)) => s.eq_ignore_ascii_case("true").cmp(&b),
        (Str(s), Int(b)) => parse_int(s)?.cmp(&b),
        (Str(s), Long(b)) => parse_long(s)?.cmp(&b),
        (Str(s), Double(b)) => java_double_cmp(parse_double(s)?, b),
        (Bool(_) | Int(_) | Long(_) | Double(_), _) => Ordering::Less,
    })
}

/// `Double.compareTo`: -0.0 below 0.0, NaN above everything and equal to itself.
fn java_double_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.total_cmp(&b),
    }
}

/// `Integer.valueOf(String)`: an optional sign and decimal digits, in range.
fn parse_int(s: &str) -> Result<i32, EvalError> {
    s.parse().map_err(|_| EvalError::NotANumber(s.to_owned()))
}

/// `Long.valueOf(String)`.
fn parse_long(s: &str) -> Result<i64, EvalError> {
    s.parse().map_err(|_| EvalError::NotANumber(s.to_owned()))
}

/// `Double.valueOf(String)` for decimal text: surrounding whitespace (anything up to a
/// space) is ignored, `NaN` and `Infinity` are spelt Java's way, and a trailing `d`/`f`
/// type suffix is allowed. (Java's hexadecimal floating-point form is not accepted.)
fn parse_double(s: &str) -> Result<f64, EvalError> {
    let fail = || EvalError::NotANumber(s.to_owned());
    let text = s.trim_matches(|c: char| c <= ' ');
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = match unsigned {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let number = unsigned
                .strip_suffix(['d', 'D', 'f', 'F'])
                .unwrap_or(unsigned);
            if !is_decimal_float(number) {
                return Err(fail());
            }
            number.parse().map_err(|_| fail())?
        }
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// `digits [. digits?] | . digits`, then an optional exponent: the text Rust's `f64` parser
/// reads the same way as Java's (it would also take `inf` and `nan`, which Java refuses).
fn is_decimal_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int = digits(0);
    let mut at = int;
    let mut frac = 0;
    if bytes.get(at) == Some(&b'.') {
        frac = digits(at + 1);
        at += 1 + frac;
    }
    if int + frac == 0 {
        return false;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exp = digits(at);
        if exp == 0 {
            return false;
        }
        at += exp;
    }
    at == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_parse_as_java_parses_them() {
        assert_eq!(parse_double(" 1.5 "), Ok(1.5));
        assert_eq!(parse_double("2d"), Ok(2.0));
        assert_eq!(parse_double("-.5e1f"), Ok(-5.0));
        assert_eq!(parse_double("1."), Ok(1.0));
        assert!(parse_double("-Infinity").unwrap().is_infinite());
        assert!(parse_double("NaN").unwrap().is_nan());
        for bad in ["", "inf", "nan", "1e", ".", "1.5.2", "abc", "1,5", "0x10"] {
            assert!(parse_double(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn doubles_order_as_java_orders_them() {
        assert_eq!(java_double_cmp(-0.0, 0.0), Ordering::Less);
        assert_eq!(java_double_cmp(f64::NAN, f64::NAN), Ordering::Equal);
        assert_eq!(java_double_cmp(f64::NAN, f64::INFINITY), Ordering::Greater);
    }

    #[test]
    fn strings_convert_towards_the_other_operand() {
        let cmp = |a: Value<'_>, b: Value<'_>| compare(&a, &b);
        assert_eq!(cmp(Value::Str("10"), Value::Int(9)), Ok(Ordering::Greater));
        assert_eq!(cmp(Value::Int(9), Value::Str("10")), Ok(Ordering::Less));
        assert_eq!(
            cmp(Value::Str("TRUE"), Value::Bool(true)),
            Ok(Ordering::Equal)
        );
        assert_eq!(
            cmp(Value::Str("1.5"), Value::Int(1)),
            Err(EvalError::NotANumber("1.5".into()))
        );
        assert_eq!(
            cmp(Value::Bool(true), Value::Str("true")),
            Err(EvalError::BooleanAsString)
        );
        assert_eq!(cmp(Value::Int(1), Value::Bool(true)), Ok(Ordering::Less));
        assert_eq!(
            cmp(Value::Long(1 << 40), Value::Int(1)),
            Ok(Ordering::Greater)
        );
        // UTF-16 order: U+FF61 sorts after a supplementary character's surrogates.
        assert_eq!(
            cmp(Value::Str("\u{ff61}"), Value::Str("\u{10000}")),
            Ok(Ordering::Greater)
        );
    }
}
