//! The grammar of `SelectorParser.jj`, by recursive descent, with the checks Java's
//! expression factories make while building the tree (`ComparisonExpression.createX`).
//!
//! Precedence, loosest first: `OR`, `AND`, `= <> IS [NOT] NULL`, `> >= < <= [NOT] BETWEEN
//! [NOT] IN`, then the prefixes `+ - NOT` — so `NOT a = 'x'` reads `(NOT a) = 'x'`, as in Java.

use super::lexer::{tokenize, Token};
use super::{compare, CmpOp, Expr, Literal, SqlError};

pub(super) fn parse(text: &str) -> Result<Expr, SqlError> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
    };
    let expr = parser.or_expr()?;
    if let Some((token, column)) = parser.tokens.get(parser.at) {
        return Err(unexpected(token, *column));
    }
    as_boolean(expr)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
}

fn parse_error(message: String) -> SqlError {
    SqlError::new("org.apache.rocketmq.filter.parser.ParseException", message)
}

fn runtime_error(message: String) -> SqlError {
    SqlError::new("java.lang.RuntimeException", message)
}

fn unexpected(token: &Token, column: usize) -> SqlError {
    parse_error(format!(
        "Encountered {} at line 1, column {column}.",
        token.describe()
    ))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn peek_second(&self) -> Option<&Token> {
        self.tokens.get(self.at + 1).map(|(t, _)| t)
    }

    fn eat(&mut self, token: &Token) -> bool {
        let found = self.peek() == Some(token);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, token: &Token) -> Result<(), SqlError> {
        if self.eat(token) {
            return Ok(());
        }
        Err(self.error_here())
    }

    fn error_here(&self) -> SqlError {
        match self.tokens.get(self.at) {
            Some((token, column)) => unexpected(token, *column),
            None => parse_error("Encountered \"<EOF>\" at the end of the expression.".into()),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.and_expr()?;
        while self.eat(&Token::Or) {
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(as_boolean(left)?), Box::new(as_boolean(right)?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.equality_expr()?;
        while self.eat(&Token::And) {
            let right = self.equality_expr()?;
            left = Expr::And(Box::new(as_boolean(left)?), Box::new(as_boolean(right)?));
        }
        Ok(left)
    }

    fn equality_expr(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.comparison_expr()?;
        loop {
            left = if self.eat(&Token::Eq) {
                create_equal(left, self.comparison_expr()?)?
            } else if self.eat(&Token::NotEq) {
                Expr::Not(Box::new(create_equal(left, self.comparison_expr()?)?))
            } else if self.peek() == Some(&Token::Is) {
                self.at += 1;
                let negated = self.eat(&Token::Not);
                self.expect(&Token::Null)?;
                let is_null = Expr::Compare(
                    CmpOp::Eq,
                    Box::new(left),
                    Box::new(Expr::Literal(Literal::Null)),
                );
                if negated {
                    Expr::Not(Box::new(is_null))
                } else {
                    is_null
                }
            } else {
                return Ok(left);
            };
        }
    }

    fn comparison_expr(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.unary_expr()?;
        loop {
            let op = match self.peek() {
                Some(Token::Gt) => Some(CmpOp::Gt),
                Some(Token::Ge) => Some(CmpOp::Ge),
                Some(Token::Lt) => Some(CmpOp::Lt),
                Some(Token::Le) => Some(CmpOp::Le),
                _ => None,
            };
            if let Some(op) = op {
                self.at += 1;
                left = create_relational(op, left, self.unary_expr()?)?;
                continue;
            }
            let negated = self.peek() == Some(&Token::Not)
                && matches!(self.peek_second(), Some(Token::Between | Token::In));
            self.at += usize::from(negated);
            if self.eat(&Token::Between) {
                let low = self.unary_expr()?;
                self.expect(&Token::And)?;
                let high = self.unary_expr()?;
                left = create_between(left, low, high, negated)?;
            } else if self.eat(&Token::In) {
                let values = self.string_list()?;
                let Expr::Property(property) = left else {
                    return Err(runtime_error(format!(
                        "Expected a property for In expression, got: {left}"
                    )));
                };
                left = Expr::In {
                    property,
                    values,
                    negated,
                };
            } else {
                return Ok(left);
            }
        }
    }

    fn string_list(&mut self) -> Result<Vec<String>, SqlError> {
        self.expect(&Token::Open)?;
        let mut values = vec![self.string_literal()?];
        while self.eat(&Token::Comma) {
            values.push(self.string_literal()?);
        }
        self.expect(&Token::Close)?;
        Ok(values)
    }

    fn string_literal(&mut self) -> Result<String, SqlError> {
        match self.peek() {
            Some(Token::Str(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.error_here()),
        }
    }

    fn unary_expr(&mut self) -> Result<Expr, SqlError> {
        if self.eat(&Token::Plus) {
            return self.unary_expr();
        }
        if self.eat(&Token::Minus) {
            return Ok(Expr::Negate(Box::new(self.unary_expr()?)));
        }
        if self.eat(&Token::Not) {
            return Ok(Expr::Not(Box::new(as_boolean(self.unary_expr()?)?)));
        }
        self.primary_expr()
    }

    fn primary_expr(&mut self) -> Result<Expr, SqlError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.error_here());
        };
        let expr = match token {
            Token::Str(s) => Expr::Literal(Literal::Str(s)),
            Token::Decimal(text) => Expr::Literal(decimal(&text)?),
            Token::Float(text) => Expr::Literal(float(&text)?),
            Token::True => Expr::Literal(Literal::Bool(true)),
            Token::False => Expr::Literal(Literal::Bool(false)),
            Token::Null => Expr::Literal(Literal::Null),
            Token::Id(name) => Expr::Property(name),
            Token::Open => {
                self.at += 1;
                let inner = self.or_expr()?;
                self.expect(&Token::Close)?;
                return Ok(inner);
            }
            _ => return Err(self.error_here()),
        };
        self.at += 1;
        Ok(expr)
    }
}

/// `ConstantExpression.createFromDecimal`: a Long, narrowed to an Integer when it fits.
fn decimal(text: &str) -> Result<Literal, SqlError> {
    let digits = text.trim_end_matches(['l', 'L']);
    let value: i64 = digits.parse().map_err(|_| {
        SqlError::new(
            "java.lang.NumberFormatException",
            format!("For input string: \"{digits}\""),
        )
    })?;
    Ok(match i32::try_from(value) {
        Ok(int) => Literal::Int(int),
        Err(_) => Literal::Long(value),
    })
}

/// `ConstantExpression.createFloat`, whose range check also refuses zero: it compares with
/// `Double.MIN_VALUE`, the smallest *positive* double.
fn float(text: &str) -> Result<Literal, SqlError> {
    let value: f64 = text.parse().map_err(|_| {
        SqlError::new(
            "java.lang.NumberFormatException",
            format!("For input string: \"{text}\""),
        )
    })?;
    if value > f64::MAX {
        return Err(runtime_error(format!(
            "{text} is greater than {}",
            f64::MAX
        )));
    }
    if value < f64::from_bits(1) {
        return Err(runtime_error(format!("{text} is less than 4.9E-324")));
    }
    Ok(Literal::Double(value))
}

/// The parser's `asBooleanExpression`: a property reads as a boolean cast.
fn as_boolean(expr: Expr) -> Result<Expr, SqlError> {
    match expr {
        e if e.is_boolean() => Ok(e),
        Expr::Property(name) => Ok(Expr::BoolCast(Box::new(Expr::Property(name)))),
        other => Err(parse_error(format!(
            "Expression will not result in a boolean value: {other}"
        ))),
    }
}

fn create_equal(left: Expr, right: Expr) -> Result<Expr, SqlError> {
    for operand in [&left, &right] {
        if matches!(operand, Expr::Literal(Literal::Null)) {
            return Err(runtime_error(format!("'{operand}' cannot be compared.")));
        }
    }
    // `checkEqualOperandCompatability`: a boolean constant on the left needs one on the right.
    if let (Expr::Literal(l), Expr::Literal(r)) = (&left, &right) {
        if matches!(l, Literal::Bool(_)) && !matches!(r, Literal::Bool(_) | Literal::Null) {
            return Err(runtime_error(format!(
                "'{left}' cannot be compared with '{right}'"
            )));
        }
    }
    Ok(Expr::Compare(CmpOp::Eq, Box::new(left), Box::new(right)))
}

/// `checkLessThanOperand`: constants must be numbers, and no operand may be boolean.
fn create_relational(op: CmpOp, left: Expr, right: Expr) -> Result<Expr, SqlError> {
    for operand in [&left, &right] {
        let numeric_constant = matches!(
            operand,
            Expr::Literal(Literal::Int(_) | Literal::Long(_) | Literal::Double(_))
        );
        if (matches!(operand, Expr::Literal(_)) && !numeric_constant) || operand.is_boolean() {
            return Err(runtime_error(format!(
                "Value '{operand}' cannot be compared."
            )));
        }
    }
    Ok(Expr::Compare(op, Box::new(left), Box::new(right)))
}

fn create_between(value: Expr, low: Expr, high: Expr, negated: bool) -> Result<Expr, SqlError> {
    if negated {
        return Ok(Expr::Or(
            Box::new(create_relational(CmpOp::Lt, value.clone(), low)?),
            Box::new(create_relational(CmpOp::Gt, value, high)?),
        ));
    }
    if let (Expr::Literal(lo), Expr::Literal(hi)) = (&low, &high) {
        if matches!(lo, Literal::Null) || matches!(hi, Literal::Null) {
            return Err(runtime_error(
                "Illegal values of between, values can not be null!".into(),
            ));
        }
        let order = compare(&hi.value(), &lo.value()).map_err(|e| e.into_sql())?;
        if order.is_lt() {
            return Err(runtime_error(format!(
                "Illegal values of between, left value({}) must less than or equal to right value({})",
                lo.raw(),
                hi.raw()
            )));
        }
    }
    Ok(Expr::And(
        Box::new(create_relational(CmpOp::Ge, value.clone(), low)?),
        Box::new(create_relational(CmpOp::Le, value, high)?),
    ))
}
