//! The compact ROCKETMQ header (serialize type 1, `RocketMQSerializable`).
//!
//! ```text
//! code i16 | language u8 | version i16 | opaque i32 | flag i32
//! | remark_len i32 | remark | ext_len i32 | ext_len bytes of (key_len i16, key, val_len i32, val)
//! ```
//! A remark of length 0 decodes as null (as in Java); map entries keep empty strings.
//! Bytes after the map are ignored, as Java ignores them.

use crate::codes::LanguageCode;
use crate::command::{ExtFields, RemotingCommand};
use crate::ProtocolError;

/// Appends the binary header of `cmd` to `out`.
pub fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.extend_from_slice(&(cmd.code as i16).to_be_bytes());
    out.push(cmd.language.code());
    out.extend_from_slice(&(cmd.version as i16).to_be_bytes());
    out.extend_from_slice(&cmd.opaque.to_be_bytes());
    out.extend_from_slice(&cmd.flag.to_be_bytes());
    let remark = cmd.remark.as_deref().unwrap_or("");
    out.extend_from_slice(&(remark.len() as i32).to_be_bytes());
    out.extend_from_slice(remark.as_bytes());
    let ext_len_at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    if let Some(ext) = &cmd.ext_fields {
        for (k, v) in ext.iter() {
            out.extend_from_slice(&(k.len() as i16).to_be_bytes());
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&(v.len() as i32).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
    let ext_len = (out.len() - ext_len_at - 4) as i32;
    out[ext_len_at..ext_len_at + 4].copy_from_slice(&ext_len.to_be_bytes());
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or(ProtocolError::TruncatedHeader)?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }

    fn i16(&mut self) -> Result<i16, ProtocolError> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().expect("took 2"),
        ))
    }

    fn i32(&mut self) -> Result<i32, ProtocolError> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("took 4"),
        ))
    }

    /// A string whose length must be non-negative and fit the header (Java checks
    /// `len > headerLength`).
    fn string(&mut self, len: i32, field: &'static str) -> Result<Option<String>, ProtocolError> {
        Ok(self.str(len, field)?.map(str::to_owned))
    }

    /// `len` bytes of UTF-8, borrowed; `None` for a zero length.
    fn str(&mut self, len: i32, field: &'static str) -> Result<Option<&'a str>, ProtocolError> {
        let len = usize::try_from(len).map_err(|_| ProtocolError::BadHeaderField(field))?;
        if len == 0 {
            return Ok(None);
        }
        let bytes = self.take(len)?;
        let s = std::str::from_utf8(bytes).map_err(|_| ProtocolError::BadHeaderField(field))?;
        Ok(Some(s))
    }
}

/// Decodes a binary header.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let mut c = Cursor {
        buf: header,
        pos: 0,
    };
    let code = i32::from(c.i16()?);
    // Java decodes an unknown language byte to null; keep the frame.
    let language = LanguageCode::from_code(c.u8()?).unwrap_or(LanguageCode::Other);
    let version = i32::from(c.i16()?);
    let opaque = c.i32()?;
    let flag = c.i32()?;
    let remark_len = c.i32()?;
    let remark = c.string(remark_len, "remark")?;
    let ext_len = c.i32()?;
    let ext_len =
        usize::try_from(ext_len).map_err(|_| ProtocolError::BadHeaderField("extFields"))?;
    let ext_fields = if ext_len == 0 {
        None
    } else {
        let mut m = Cursor {
            buf: c.take(ext_len)?,
            pos: 0,
        };
        let mut ext = ExtFields::with_sizes(16, ext_len);
        while m.pos < m.buf.len() {
            // Inside the map a zero length is an empty string, not null (as in Java).
            let key_len = i32::from(m.i16()?);
            let key = m.str(key_len, "extFields")?.unwrap_or_default();
            let value_len = m.i32()?;
            let value = m.str(value_len, "extFields")?.unwrap_or_default();
            ext.push(key, value);
        }
        Some(ext)
    };
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: None,
        body_parts: Vec::new(),
        serialize_type: crate::SerializeType::RocketMq,
    })
}
