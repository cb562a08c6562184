use super::Value;
use std::fmt::Write as _;

/// How to write JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// fastjson's `BrowserCompatible | QuoteFieldNames` form: every map key quoted and
    /// non-ASCII characters escaped as `\uXXXX`. The name server answers routes in this form to
    /// clients of version 4.9.4 and later.
    pub standard: bool,
}

/// fastjson's default form: integer map keys unquoted, object keys written as objects.
pub fn to_string(value: &Value) -> String {
    to_string_with(value, WriteOptions::default())
}

pub fn to_string_with(value: &Value, options: WriteOptions) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, value, options);
    out
}

fn write_value(out: &mut String, value: &Value, options: WriteOptions) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => write_java_double(out, *f),
        Value::Str(s) => write_string(out, s, options),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, options);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_key(out, key, options);
                out.push(':');
                write_value(out, item, options);
            }
            out.push('}');
        }
    }
}

fn write_key(out: &mut String, key: &Value, options: WriteOptions) {
    match key {
        Value::Str(s) => write_string(out, s, options),
        Value::Int(n) if options.standard => {
            let _ = write!(out, "\"{n}\"");
        }
        other => write_value(out, other, options),
    }
}

/// Escapes as fastjson's `SerializeWriter.writeStringWithDoubleQuote`: the short forms for
/// `\b \t \n \f \r \" \\`, `\u00XX` for other control characters.
pub(crate) fn write_string(out: &mut String, s: &str, options: WriteOptions) {
    out.push('"');
    // Runs of characters written as they are are copied whole (message ids, addresses and
    // topic names are nothing else).
    let escaped = |b: u8| b == b'"' || b == b'\\' || b < 0x20 || (options.standard && b >= 0x80);
    let mut rest = s;
    while let Some(at) = rest.bytes().position(escaped) {
        out.push_str(&rest[..at]);
        // An escaped byte is ASCII, or the lead byte of the first non-ASCII character: a
        // character starts there either way.
        let c = rest[at..]
            .chars()
            .next()
            .expect("a character at an escaped byte");
        write_escaped_char(out, c, options);
        rest = &rest[at + c.len_utf8()..];
    }
    out.push_str(rest);
    out.push('"');
}

fn write_escaped_char(out: &mut String, c: char, options: WriteOptions) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{8}' => out.push_str("\\b"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\u{c}' => out.push_str("\\f"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x20 => {
            let _ = write!(out, "\\u{:04X}", c as u32);
        }
        c if options.standard && !c.is_ascii() => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04X}");
            }
        }
        c => out.push(c),
    }
}

/// Java's `Double.toString`; fastjson writes NaN and infinities as null.
fn write_java_double(out: &mut String, f: f64) {
    if f.is_finite() {
        ferrocket_common::java_format::write_double(out, f);
    } else {
        out.push_str("null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn writes_fastjson_forms() {
        let v = parse(br#"{"brokerAddrs":{0:"a"},"m":{{"q":1}:2},"x":[true,null,1.5]}"#).unwrap();
        assert_eq!(
            to_string(&v),
            r#"{"brokerAddrs":{0:"a"},"m":{{"q":1}:2},"x":[true,null,1.5]}"#
        );
        assert_eq!(
            to_string_with(&v, WriteOptions { standard: true }),
            r#"{"brokerAddrs":{"0":"a"},"m":{{"q":1}:2},"x":[true,null,1.5]}"#
        );
    }

    #[test]
    fn escapes_like_fastjson() {
        let v = Value::Str("WAIT\u{1}true\u{2}a\"b\\c\nd\u{1f}é".into());
        assert_eq!(to_string(&v), r#""WAIT\u0001true\u0002a\"b\\c\nd\u001Fé""#);
        assert_eq!(
            to_string_with(&Value::Str("é😀".into()), WriteOptions { standard: true }),
            r#""\u00E9\uD83D\uDE00""#
        );
    }

    proptest::proptest! {
        /// Whatever runs of plain, escaped and non-ASCII characters a string holds, both
        /// forms read back as the same string.
        #[test]
        fn strings_read_back(s in "[a-z0-9\"\\\\\u{0}-\u{1f}é😀 ]{0,40}") {
            for standard in [false, true] {
                let mut out = String::new();
                write_string(&mut out, &s, WriteOptions { standard });
                proptest::prop_assert_eq!(parse(out.as_bytes()).unwrap(), Value::Str(s.clone()));
                proptest::prop_assert!(!standard || out.is_ascii());
            }
        }
    }

    #[test]
    fn doubles_as_java_and_non_finite_as_null() {
        // The forms themselves are `java_format::double`'s (tested there); fastjson writes
        // what Java would print as NaN or Infinity as null.
        assert_eq!(to_string(&Value::Float(1.5e-4)), "1.5E-4");
        assert_eq!(to_string(&Value::Float(123456.789)), "123456.789");
        assert_eq!(to_string(&Value::Float(f64::NAN)), "null");
        assert_eq!(to_string(&Value::Float(f64::INFINITY)), "null");
    }
}
