//! Header serialisation and the typed custom headers carried in `extFields`.
//!
//! Every value travels as a string (`String.valueOf` in Java). The field name is the Java
//! field name, including inherited ones such as `bname`. A missing required (`@CFNotNull`)
//! field is [`ProtocolError::MissingField`]; unknown keys are ignored.

pub mod binary;
pub mod json;

mod defs;
mod send_ref;
pub use defs::*;
pub use send_ref::SendMessageRequestHeaderRef;

use crate::command::ExtFields;
use crate::ProtocolError;

/// A typed view of a command's `extFields`.
pub trait CommandHeader: Sized {
    /// Appends this header's set fields.
    fn write_to(&self, ext: &mut ExtFields);
    /// Reads the fields from `ext`.
    fn read_from(ext: &ExtFields) -> Result<Self, ProtocolError>;
}

/// A value that travels as an extFields string.
pub trait HeaderValue: Sized {
    /// Appends the value's text (written in place: no string per field).
    fn write_header(&self, out: &mut String);
    /// `None` when Java's `parseInt` / `parseLong` would throw.
    fn from_header(s: &str) -> Option<Self>;
}

impl HeaderValue for String {
    fn write_header(&self, out: &mut String) {
        out.push_str(self);
    }
    fn from_header(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
}

impl HeaderValue for bool {
    fn write_header(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
    /// `Boolean.parseBoolean`: `true` in any case, everything else false.
    fn from_header(s: &str) -> Option<Self> {
        Some(s.eq_ignore_ascii_case("true"))
    }
}

macro_rules! int_header_value {
    ($($t:ty),*) => {$(
        impl HeaderValue for $t {
            fn write_header(&self, out: &mut String) {
                use std::fmt::Write as _;
                let _ = write!(out, "{self}");
            }
            fn from_header(s: &str) -> Option<Self> {
                s.parse().ok()
            }
        }
    )*};
}
int_header_value!(i32, i64);

/// Declares a custom header. `req` fields must be present (`@CFNotNull`); `opt` fields are
/// `Option`s. Fields are written in the order listed.
#[macro_export]
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $kind:ident $json:literal => $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( pub $field: $crate::command_header!(@type $kind $ty), )*
        }

        impl $crate::header::CommandHeader for $name {
            fn write_to(&self, ext: &mut $crate::ExtFields) {
                $( $crate::command_header!(@write $kind ext, $json, self.$field); )*
            }

            #[allow(unused_mut, unused_variables)]
            fn read_from(ext: &$crate::ExtFields) -> Result<Self, $crate::ProtocolError> {
                $( let mut $field: Option<$ty> = None; )*
                for (key, value) in ext.iter() {
                    match key {
                        $(
                            $json => $field = Some(
                                $crate::command_header!(@parse $kind $ty, $json, value)
                            ),
                        )*
                        _ => {}
                    }
                }
                Ok($name {
                    $( $field: $crate::command_header!(@finish $kind $field, $json), )*
                })
            }
        }
    };
    (@type req $ty:ty) => { $ty };
    (@type opt $ty:ty) => { Option<$ty> };
    (@write req $ext:ident, $json:literal, $value:expr) => {
        $ext.push_with($json, |out| $crate::header::HeaderValue::write_header(&$value, out))
    };
    (@write opt $ext:ident, $json:literal, $value:expr) => {
        if let Some(v) = &$value {
            $ext.push_with($json, |out| $crate::header::HeaderValue::write_header(v, out));
        }
    };
    // Java leaves an unparseable field at its default; for a required field that is a
    // null it then trips over, which surfaces as SYSTEM_ERROR: say which field it was.
    (@parse req $ty:ty, $json:literal, $value:ident) => {
        <$ty as $crate::header::HeaderValue>::from_header($value).ok_or_else(|| {
            $crate::ProtocolError::InvalidField { field: $json, value: $value.to_owned() }
        })?
    };
    (@parse opt $ty:ty, $json:literal, $value:ident) => {
        match <$ty as $crate::header::HeaderValue>::from_header($value) {
            Some(v) => v,
            None => continue,
        }
    };
    (@finish req $field:ident, $json:literal) => {
        $field.ok_or($crate::ProtocolError::MissingField($json))?
    };
    (@finish opt $field:ident, $json:literal) => { $field };
}
