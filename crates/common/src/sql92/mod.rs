//! SQL92 message selectors: the expressions a consumer subscribes with when its expression
//! type is `SQL92` (`a > 5 AND color IN ('red', 'blue')`), evaluated on the broker against a
//! message's properties.
//!
//! The language and its quirks are Apache RocketMQ 4.9's `filter` module (`SelectorParser.jj`
//! and the `expression` classes): property values are strings, converted to the type of the
//! constant they meet; a missing property makes a comparison unknown (`NULL`), and an unknown
//! or failed evaluation does not match. [`Selector::compile`] refuses what Java's parser and
//! expression factories refuse; the message of a [`SqlError`] names the Java exception class
//! as Java's `MQFilterException` message does.

mod eval;
mod lexer;
mod parser;

use eval::compare;
pub use eval::EvalError;
use std::fmt;

/// A compiled selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    root: Expr,
}

impl Selector {
    /// Parses and checks `text`, as Java's `SqlFilter.compile` does.
    pub fn compile(text: &str) -> Result<Selector, SqlError> {
        parser::parse(text).map(|root| Selector { root })
    }

    /// Whether a message whose properties `property` looks up is selected: only a `TRUE`
    /// result selects; `FALSE`, unknown and failed evaluations do not.
    pub fn matches<'a>(&'a self, property: &dyn Fn(&str) -> Option<&'a str>) -> bool {
        matches!(self.evaluate(property), Ok(Value::Bool(true)))
    }

    /// The selector's value for a message: TRUE, FALSE or NULL (unknown), or the error Java
    /// would throw while evaluating it.
    pub fn evaluate<'a>(
        &'a self,
        property: &dyn Fn(&str) -> Option<&'a str>,
    ) -> Result<Value<'a>, EvalError> {
        self.root.eval(property)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

/// Why a selector does not compile. Displays as Java's `MQFilterException` message:
/// `<exception class>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {message}")]
pub struct SqlError {
    class: &'static str,
    message: String,
}

impl SqlError {
    fn new(class: &'static str, message: String) -> SqlError {
        SqlError { class, message }
    }
}

/// A value during evaluation: Java's `null`, `Boolean`, `Integer`, `Long`, `Double` and
/// `String` (every property value is a string).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

/// A constant of the selector text.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
}

impl Literal {
    fn value(&self) -> Value<'_> {
        match self {
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Int(i) => Value::Int(*i),
            Literal::Long(l) => Value::Long(*l),
            Literal::Double(d) => Value::Double(*d),
            Literal::Str(s) => Value::Str(s),
        }
    }

    /// Java's `String.valueOf` of the constant's value (strings unquoted).
    fn raw(&self) -> String {
        match self {
            Literal::Null => "null".into(),
            Literal::Bool(b) => b.to_string(),
            Literal::Int(i) => i.to_string(),
            Literal::Long(l) => l.to_string(),
            Literal::Double(d) => crate::java_format::double(*d),
            Literal::Str(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    /// `=` and `IS NULL` (Java's `doCreateEqual`).
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

/// The expression tree, one variant per Java expression class that can appear in it.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Literal(Literal),
    Property(String),
    Negate(Box<Expr>),
    Not(Box<Expr>),
    /// A property used as a condition (`UnaryExpression.createBooleanCast`).
    BoolCast(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    In {
        property: String,
        values: Vec<String>,
        negated: bool,
    },
}

impl Expr {
    /// Whether Java's tree node implements `BooleanExpression` (the boolean constants
    /// `TRUE`, `FALSE` and `NULL` do).
    fn is_boolean(&self) -> bool {
        match self {
            Expr::Literal(l) => matches!(l, Literal::Null | Literal::Bool(_)),
            Expr::Property(_) | Expr::Negate(_) => false,
            Expr::Not(_)
            | Expr::BoolCast(_)
            | Expr::And(..)
            | Expr::Or(..)
            | Expr::Compare(..)
            | Expr::In { .. } => true,
        }
    }
}

/// Java's `toString` of the expression, used in error messages.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(Literal::Null) => f.write_str("NULL"),
            Expr::Literal(Literal::Bool(b)) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Expr::Literal(Literal::Str(s)) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Literal(other) => f.write_str(&other.raw()),
            Expr::Property(name) => f.write_str(name),
            Expr::Negate(inner) => write!(f, "(- {inner})"),
            Expr::Not(inner) => write!(f, "(NOT {inner})"),
            Expr::BoolCast(inner) => inner.fmt(f),
            Expr::And(l, r) => write!(f, "({l} && {r})"),
            Expr::Or(l, r) => write!(f, "({l} || {r})"),
            Expr::Compare(op, l, r) => {
                let symbol = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                };
                write!(f, "({l} {symbol} {r})")
            }
            Expr::In {
                property,
                values,
                negated,
            } => {
                let symbol = if *negated { "NOT IN" } else { "IN" };
                write!(f, "{property} {symbol} ( {} )", values.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests;
