//! JSON as fastjson (the Java side of RocketMQ) reads and writes it.
//!
//! Standard JSON plus two things Java peers put on the wire: map keys that are not strings —
//! unquoted integers (`{0:"addr"}`) and whole objects (`{{"brokerName":"b","queueId":0,"topic":"t"}:1}`)
//! — and lenient parsing (unquoted identifier keys, single quotes). [`Value`] keeps object
//! members in order with keys that are themselves values; [`write`] emits bean properties in
//! the order given (alphabetical, as fastjson) and non-string keys unquoted unless the
//! standard form is asked for.

mod convert;
mod parse;
mod write;

pub use convert::{FromJson, JsonKey, ToJson};
pub use parse::parse;
pub(crate) use parse::Parser;
pub(crate) use write::write_string;
pub use write::{to_string, to_string_with, WriteOptions};

use thiserror::Error;

/// A JSON value whose object keys may be any value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Value>),
    Object(Vec<(Value, Value)>),
}

impl Value {
    /// The member under a string (or identifier) key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    #[error("invalid JSON at byte {offset}: {reason}")]
    Syntax { offset: usize, reason: &'static str },
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("field `{field}`: expected {expected}")]
    Type {
        field: String,
        expected: &'static str,
    },
}

impl JsonError {
    pub fn type_error(expected: &'static str) -> Self {
        JsonError::Type {
            field: String::new(),
            expected,
        }
    }

    /// Prefixes the field path, innermost last.
    pub fn in_field(self, name: &str) -> Self {
        match self {
            JsonError::Type { field, expected } => JsonError::Type {
                field: if field.is_empty() {
                    name.to_owned()
                } else {
                    format!("{name}.{field}")
                },
                expected,
            },
            other => other,
        }
    }
}

/// Parses `text` as JSON and converts it to `T`.
pub fn from_slice<T: FromJson>(text: &[u8]) -> Result<T, JsonError> {
    T::from_json(&parse(text)?)
}

/// Encodes `value` in fastjson's default form (non-string map keys unquoted).
pub fn to_vec<T: ToJson + ?Sized>(value: &T) -> Vec<u8> {
    to_string(&value.to_json()).into_bytes()
}
