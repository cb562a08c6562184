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

/// Decodes a JSON header. Key order is free, unknown keys are ignored, `remark` and
/// `extFields` may be absent or null, `language` may be a name or an ordinal.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let value = json::parse(header)?;
    let Value::Object(members) = value else {
        return Err(ProtocolError::BadHeaderField("header"));
    };
    let mut cmd = RemotingCommand {
        version: 0,
        ..RemotingCommand::default()
    };
    for (key, value) in members {
        let Value::Str(key) = key else { continue };
        match key.as_str() {
            "code" => cmd.code = int_field(&value, "code")?,
            "flag" => cmd.flag = int_field(&value, "flag")?,
            "opaque" => cmd.opaque = int_field(&value, "opaque")?,
            "version" => cmd.version = int_field(&value, "version")?,
            "language" => {
                // An unknown language is not worth dropping the frame for: Java leaves it null.
                cmd.language = match &value {
                    Value::Str(s) => LanguageCode::from_name(s),
                    Value::Int(n) => u8::try_from(*n).ok().and_then(LanguageCode::from_code),
                    _ => None,
                }
                .unwrap_or(LanguageCode::Other);
            }
            "remark" => {
                cmd.remark = match value {
                    Value::Str(s) => Some(s),
                    Value::Null => None,
                    _ => return Err(ProtocolError::BadHeaderField("remark")),
                }
            }
            "extFields" => cmd.ext_fields = decode_ext_fields(value)?,
            _ => {}
        }
    }
    Ok(cmd)
}

fn decode_ext_fields(value: Value) -> Result<Option<ExtFields>, ProtocolError> {
    let members = match value {
        Value::Null => return Ok(None),
        Value::Object(members) => members,
        _ => return Err(ProtocolError::BadHeaderField("extFields")),
    };
    let mut ext = ExtFields::with_capacity(members.len());
    for (k, v) in members {
        let scalar = |v: Value| match v {
            Value::Str(s) => Some(s),
            Value::Int(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let key = scalar(k).ok_or(ProtocolError::BadHeaderField("extFields"))?;
        match v {
            // Java drops null values when it builds the custom header.
            Value::Null => {}
            v => ext.push(
                key,
                scalar(v).ok_or(ProtocolError::BadHeaderField("extFields"))?,
            ),
        }
    }
    Ok(Some(ext))
}
