//! The JSON header (serialize type 0), as fastjson writes a `RemotingCommand`: properties in
//! alphabetical order, nulls omitted, `language` by name, plus `serializeTypeCurrentRPC`.

use crate::codes::LanguageCode;
use crate::command::{ExtFields, RemotingCommand, SerializeType};
use crate::json::{self, Value};
use crate::ProtocolError;

/// Appends the JSON header of `cmd` to `out`, written directly (no intermediate tree): keys
/// in fastjson's alphabetical order, nulls omitted, extFields in their own order.
pub fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    use std::fmt::Write as _;
    let options = json::WriteOptions::default();
    let mut text = String::with_capacity(160 + cmd.ext_fields.as_ref().map_or(0, |e| e.len() * 32));
    let _ = write!(text, "{{\"code\":{}", cmd.code);
    if let Some(ext) = &cmd.ext_fields {
        text.push_str(",\"extFields\":{");
        for (i, (k, v)) in ext.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            json::write_string(&mut text, k, options);
            text.push(':');
            json::write_string(&mut text, v, options);
        }
        text.push('}');
    }
    let _ = write!(
        text,
        ",\"flag\":{},\"language\":\"{}\",\"opaque\":{}",
        cmd.flag,
        cmd.language.name(),
        cmd.opaque
    );
    if let Some(remark) = &cmd.remark {
        text.push_str(",\"remark\":");
        json::write_string(&mut text, remark, options);
    }
    let _ = write!(
        text,
        ",\"serializeTypeCurrentRPC\":\"{}\",\"version\":{}}}",
        SerializeType::Json.name(),
        cmd.version
    );
    out.extend_from_slice(text.as_bytes());
}

fn int_field(value: &Value, field: &'static str) -> Result<i32, ProtocolError> {
    match value {
        Value::Int(n) => i32::try_from(*n).map_err(|_| ProtocolError::BadHeaderField(field)),
        Value::Null => Ok(0),
        _ => Err(ProtocolError::BadHeaderField(field)),
    }
}

/// Decodes a JSON header straight into a command (no intermediate tree). Key order is free,
/// unknown keys are skipped, `remark` and `extFields` may be absent or null, `language` may be a
/// name or an ordinal, keys may be unquoted (fastjson), and nothing may follow the object.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let mut p = json::Parser::new(header);
    let mut cmd = RemotingCommand {
        version: 0,
        ..RemotingCommand::default()
    };
    p.skip_ws();
    p.expect(b'{', "expected a header object")?;
    p.skip_ws();
    if p.peek() == Some(b'}') {
        p.advance();
    } else {
        loop {
            p.skip_ws();
            let key = member_key(&mut p)?;
            p.skip_ws();
            p.expect(b':', "expected ':' after a key")?;
            p.skip_ws();
            match key.as_ref() {
                "code" => cmd.code = int_field(&p.value(1)?, "code")?,
                "flag" => cmd.flag = int_field(&p.value(1)?, "flag")?,
                "opaque" => cmd.opaque = int_field(&p.value(1)?, "opaque")?,
                "version" => cmd.version = int_field(&p.value(1)?, "version")?,
                "language" => {
                    // An unknown language is not worth dropping the frame for: Java leaves it null.
                    cmd.language = match p.peek() {
                        Some(b'"' | b'\'') => LanguageCode::from_name(&p.string_cow()?),
                        _ => match p.value(1)? {
                            Value::Int(n) => u8::try_from(n).ok().and_then(LanguageCode::from_code),
                            _ => None,
                        },
                    }
                    .unwrap_or(LanguageCode::Other);
                }
                "remark" => {
                    cmd.remark = match p.value(1)? {
                        Value::Str(s) => Some(s),
                        Value::Null => None,
                        _ => return Err(ProtocolError::BadHeaderField("remark")),
                    }
                }
                "extFields" => cmd.ext_fields = ext_fields(&mut p)?,
                _ => match p.peek() {
                    // Skipped; a string is only read, not copied (serializeTypeCurrentRPC).
                    Some(b'"' | b'\'') => {
                        p.string_cow()?;
                    }
                    _ => {
                        p.value(1)?;
                    }
                },
            }
            p.skip_ws();
            match p.peek() {
                Some(b',') => p.advance(),
                Some(b'}') => {
                    p.advance();
                    break;
                }
                _ => return Err(ProtocolError::BadHeaderField("header")),
            }
        }
    }
    p.skip_ws();
    if !p.at_end() {
        return Err(ProtocolError::BadHeaderField("header"));
    }
    Ok(cmd)
}

/// A member name: quoted, or a bare identifier (fastjson's unquoted field names).
fn member_key<'a>(p: &mut json::Parser<'a>) -> Result<std::borrow::Cow<'a, str>, ProtocolError> {
    match p.peek() {
        Some(b'"' | b'\'') => Ok(p.string_cow()?),
        Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
            Ok(std::borrow::Cow::Owned(p.identifier().to_owned()))
        }
        _ => Err(ProtocolError::BadHeaderField("header")),
    }
}

/// The extFields object: string keys (or scalars Java would stringify) to scalar values; null
/// values are dropped as Java drops them.
fn ext_fields(p: &mut json::Parser<'_>) -> Result<Option<ExtFields>, ProtocolError> {
    let bad = || ProtocolError::BadHeaderField("extFields");
    if p.peek() == Some(b'n') {
        return match p.value(1)? {
            Value::Null => Ok(None),
            _ => Err(bad()),
        };
    }
    p.expect(b'{', "expected an extFields object")?;
    let mut ext = ExtFields::with_capacity(16);
    p.skip_ws();
    if p.peek() == Some(b'}') {
        p.advance();
        return Ok(Some(ext));
    }
    let scalar = |v: Value| match v {
        Value::Str(s) => Some(s),
        Value::Int(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    loop {
        p.skip_ws();
        let key = match p.peek() {
            Some(b'"' | b'\'') => p.string_cow()?,
            Some(_) => std::borrow::Cow::Owned(scalar(p.value(2)?).ok_or_else(bad)?),
            None => return Err(bad()),
        };
        p.skip_ws();
        p.expect(b':', "expected ':' in extFields")?;
        p.skip_ws();
        match p.peek() {
            // Decoded straight into the map's text (values such as properties have escapes).
            Some(q @ (b'"' | b'\'')) => ext.try_push_with(&key, |out| p.string_into(q, out))?,
            _ => match p.value(2)? {
                Value::Null => {}
                v => ext.push(key, scalar(v).ok_or_else(bad)?),
            },
        }
        p.skip_ws();
        match p.peek() {
            Some(b',') => p.advance(),
            Some(b'}') => {
                p.advance();
                return Ok(Some(ext));
            }
            _ => return Err(bad()),
        }
    }
}
