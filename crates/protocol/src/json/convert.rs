//! Conversions between Rust types and [`Value`], lenient the way fastjson is when reading
//! (numbers given as strings, strings given as numbers, missing or null fields defaulted).

use super::{JsonError, Value};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

pub trait ToJson {
    fn to_json(&self) -> Value;
}

pub trait FromJson: Sized {
    fn from_json(value: &Value) -> Result<Self, JsonError>;
}

/// A type usable as a map key. Java writes `Long`/`Integer` keys unquoted and bean keys
/// (MessageQueue) as objects; all parse from their quoted string form too.
pub trait JsonKey: Sized {
    fn to_key(&self) -> Value;
    fn from_key(key: &Value) -> Result<Self, JsonError>;
}

impl ToJson for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl FromJson for Value {
    fn from_json(value: &Value) -> Result<Self, JsonError> {
        Ok(value.clone())
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl FromJson for bool {
    fn from_json(value: &Value) -> Result<Self, JsonError> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Int(n) => Ok(*n != 0),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") || s.is_empty() => Ok(false),
            _ => Err(JsonError::type_error("a boolean")),
        }
    }
}

fn int_from(value: &Value) -> Result<i64, JsonError> {
    match value {
        Value::Int(n) => Ok(*n),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| JsonError::type_error("an integer")),
        Value::Bool(b) => Ok(i64::from(*b)),
        _ => Err(JsonError::type_error("an integer")),
    }
}

macro_rules! int_json {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }

        impl FromJson for $t {
            fn from_json(value: &Value) -> Result<Self, JsonError> {
                <$t>::try_from(int_from(value)?).map_err(|_| JsonError::type_error("an integer in range"))
            }
        }

        impl JsonKey for $t {
            fn to_key(&self) -> Value {
                Value::Int(i64::from(*self))
            }

            fn from_key(key: &Value) -> Result<Self, JsonError> {
                <$t as FromJson>::from_json(key)
            }
        }
    )*};
}

int_json!(i8, i16, i32, i64, u8, u16, u32);

impl ToJson for f64 {
    fn to_json(&self) -> Value {
        Value::Float(*self)
    }
}

impl FromJson for f64 {
    fn from_json(value: &Value) -> Result<Self, JsonError> {
        match value {
            Value::Float(f) => Ok(*f),
            Value::Int(n) => Ok(*n as f64),
            Value::Str(s) => s
                .trim()
                .parse()
                .map_err(|_| JsonError::type_error("a number")),
            _ => Err(JsonError::type_error("a number")),
        }
    }
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        Value::Str(self.clone())
    }
}

impl ToJson for str {
    fn to_json(&self) -> Value {
        Value::Str(self.to_owned())
    }
}

impl FromJson for String {
    fn from_json(value: &Value) -> Result<Self, JsonError> {
        match value {
            Value::Str(s) => Ok(s.clone()),
            Value::Int(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Float(f) => Ok(super::to_string(&Value::Float(*f))),
            _ => Err(JsonError::type_error("a string")),
        }
    }
}

impl JsonKey for String {
    fn to_key(&self) -> Value {
        Value::Str(self.clone())
    }

    fn from_key(key: &Value) -> Result<Self, JsonError> {
        String::from_json(key)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToJson::to_json)
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &Value) -> Result<Self, JsonError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(ToJson::to_json).collect())
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value) -> Result<Self, JsonError> {
        match value {
            Value::Array(items) => items.iter().map(T::from_json).collect(),
            _ => Err(JsonError::type_error("an array")),
        }
    }
}

fn members(value: &Value) -> Result<&[(Value, Value)], JsonError> {
    match value {
        Value::Object(members) => Ok(members),
        _ => Err(JsonError::type_error("an object")),
    }
}

impl<K: JsonKey, V: ToJson> ToJson for BTreeMap<K, V> {
    fn to_json(&self) -> Value {
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.to_key(), v.to_json()))
                .collect(),
        )
    }
}

impl<K: JsonKey + Ord, V: FromJson> FromJson for BTreeMap<K, V> {
    fn from_json(value: &Value) -> Result<Self, JsonError> {
        members(value)?
            .iter()
            .map(|(k, v)| Ok((K::from_key(k)?, V::from_json(v)?)))
            .collect()
    }
}

impl<K: JsonKey, V: ToJson, S> ToJson for HashMap<K, V, S> {
    fn to_json(&self) -> Value {
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.to_key(), v.to_json()))
                .collect(),
        )
    }
}

impl<K: JsonKey + Eq + Hash, V: FromJson, S: std::hash::BuildHasher + Default> FromJson
    for HashMap<K, V, S>
{
    fn from_json(value: &Value) -> Result<Self, JsonError> {
        members(value)?
            .iter()
            .map(|(k, v)| Ok((K::from_key(k)?, V::from_json(v)?)))
            .collect()
    }
}

/// Declares a struct that maps to a JSON object (a Java bean). List the fields in the
/// order Java emits them — alphabetical by JSON name. `None` fields are omitted when
/// writing; missing and null fields read as `Default::default()`.
#[macro_export]
macro_rules! json_object {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $json:literal => $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        impl $crate::json::ToJson for $name {
            fn to_json(&self) -> $crate::json::Value {
                #[allow(unused_mut)]
                let mut members = Vec::new();
                $(
                    let value = $crate::json::ToJson::to_json(&self.$field);
                    if !value.is_null() {
                        members.push(($crate::json::Value::Str($json.to_owned()), value));
                    }
                )*
                $crate::json::Value::Object(members)
            }
        }

        impl $crate::json::FromJson for $name {
            fn from_json(value: &$crate::json::Value) -> Result<Self, $crate::json::JsonError> {
                if !matches!(value, $crate::json::Value::Object(_)) {
                    return Err($crate::json::JsonError::type_error("an object"));
                }
                Ok($name {
                    $(
                        $field: match value.get($json) {
                            None | Some($crate::json::Value::Null) => Default::default(),
                            Some(v) => $crate::json::FromJson::from_json(v)
                                .map_err(|e| e.in_field($json))?,
                        },
                    )*
                })
            }
        }
    };
}

/// Declares an enum that Java sends by name (and fastjson also reads by ordinal).
/// The first variant is the default.
#[macro_export]
macro_rules! json_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $first:ident = $first_json:literal
            $(, $variant:ident = $json:literal )* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis enum $name {
            #[default]
            $first,
            $( $variant, )*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$name::$first $(, $name::$variant)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $name::$first => $first_json,
                    $( $name::$variant => $json, )*
                }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $first_json => Some($name::$first),
                    $( $json => Some($name::$variant), )*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::json::ToJson for $name {
            fn to_json(&self) -> $crate::json::Value {
                $crate::json::Value::Str(self.as_str().to_owned())
            }
        }

        impl $crate::json::FromJson for $name {
            fn from_json(value: &$crate::json::Value) -> Result<Self, $crate::json::JsonError> {
                let found = match value {
                    $crate::json::Value::Str(s) => $name::from_name(s),
                    $crate::json::Value::Int(n) => usize::try_from(*n)
                        .ok()
                        .and_then(|i| $name::ALL.get(i).copied()),
                    _ => None,
                };
                found.ok_or_else(|| $crate::json::JsonError::type_error(stringify!($name)))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{from_slice, to_vec};

    json_object! {
        #[derive(Debug, Clone, PartialEq, Default)]
        struct Sample {
            "addrs" => addrs: BTreeMap<i64, String>,
            "flag" => flag: bool,
            "name" => name: Option<String>,
            "num" => num: i32,
        }
    }

    json_enum! {
        enum Mode { Clustering = "CLUSTERING", Broadcasting = "BROADCASTING" }
    }

    #[test]
    fn struct_round_trip_and_order() {
        let s = Sample {
            addrs: [(0, "a".into()), (1, "b".into())].into(),
            flag: true,
            name: None,
            num: 7,
        };
        let text = to_vec(&s);
        assert_eq!(text, br#"{"addrs":{0:"a",1:"b"},"flag":true,"num":7}"#);
        assert_eq!(from_slice::<Sample>(&text).unwrap(), s);
    }

    #[test]
    fn lenient_reads() {
        let s: Sample = from_slice(
            br#"{"num":"12","flag":"TRUE","addrs":{"3":"x"},"unknown":[1],"name":null}"#,
        )
        .unwrap();
        assert_eq!(s.num, 12);
        assert!(s.flag);
        assert_eq!(s.addrs.get(&3).map(String::as_str), Some("x"));
        assert_eq!(from_slice::<Sample>(b"{}").unwrap(), Sample::default());
        let err = from_slice::<Sample>(br#"{"num":[1]}"#).unwrap_err();
        assert_eq!(err.to_string(), "field `num`: expected an integer");
        assert!(from_slice::<Sample>(b"[]").is_err());
        assert!(from_slice::<Sample>(br#"{"num":99999999999}"#).is_err());
    }

    #[test]
    fn enums_by_name_and_ordinal() {
        assert_eq!(
            from_slice::<Mode>(br#""BROADCASTING""#).unwrap(),
            Mode::Broadcasting
        );
        assert_eq!(from_slice::<Mode>(b"1").unwrap(), Mode::Broadcasting);
        assert!(from_slice::<Mode>(br#""OTHER""#).is_err());
        assert!(from_slice::<Mode>(b"2").is_err());
        assert_eq!(to_vec(&Mode::Clustering), br#""CLUSTERING""#);
    }
}
