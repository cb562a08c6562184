//! The SEND_BATCH_MESSAGE body (`MessageDecoder.encodeMessages`): one item per message.
//!
//! ```text
//! TOTALSIZE i32 | MAGICCODE i32 (0) | BODYCRC i32 (0) | FLAG i32 | BODYLEN i32 + body | PROPLEN i16 + properties
//! ```
//! The broker ignores magic and CRC (it computes the CRC itself).

use crate::error::{utf8, Reader};
use crate::CodecError;
use bytes::{BufMut, Bytes};

/// Fixed bytes of one batch item besides body and properties.
const ITEM_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One message of a batch, borrowed from the batch body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchItem<'a> {
    pub flag: i32,
    pub body: &'a [u8],
    pub properties: &'a str,
}

impl BatchItem<'_> {
    pub fn encoded_len(&self) -> usize {
        ITEM_OVERHEAD + self.body.len() + self.properties.len()
    }

    pub fn encode_into(&self, out: &mut impl BufMut) -> Result<(), CodecError> {
        if self.properties.len() > i16::MAX as usize {
            return Err(CodecError::TooLong("properties"));
        }
        if self.encoded_len() > i32::MAX as usize {
            return Err(CodecError::TooLong("batch item"));
        }
        out.put_i32(self.encoded_len() as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(self.flag);
        out.put_i32(self.body.len() as i32);
        out.put_slice(self.body);
        out.put_i16(self.properties.len() as i16);
        out.put_slice(self.properties.as_bytes());
        Ok(())
    }
}

/// Encodes a whole batch body.
pub fn encode(items: &[BatchItem<'_>]) -> Result<Bytes, CodecError> {
    let len = items.iter().map(BatchItem::encoded_len).sum();
    let mut out = Vec::with_capacity(len);
    for item in items {
        item.encode_into(&mut out)?;
    }
    Ok(out.into())
}

/// Iterates the items of a batch body; stops at the first malformed item with its error.
pub fn iter(body: &[u8]) -> BatchIter<'_> {
    BatchIter { rest: body }
}

#[derive(Debug)]
pub struct BatchIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<BatchItem<'a>, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let result = decode_item(self.rest);
        match &result {
            Ok((_, used)) => self.rest = &self.rest[*used..],
            Err(_) => self.rest = &[],
        }
        Some(result.map(|(item, _)| item))
    }
}

fn decode_item(buf: &[u8]) -> Result<(BatchItem<'_>, usize), CodecError> {
    let mut r = Reader::new(buf);
    let total = r.i32()?;
    let _magic = r.i32()?;
    let _crc = r.i32()?;
    let flag = r.i32()?;
    let body_len = r.i32()?;
    let body = r.len_prefixed(i64::from(body_len))?;
    let properties_len = r.i16()?;
    let properties = utf8(r.len_prefixed(i64::from(properties_len))?, "properties")?;
    if i64::from(total) != r.position() as i64 {
        return Err(CodecError::LengthMismatch {
            declared: i64::from(total),
            computed: r.position() as i64,
        });
    }
    Ok((
        BatchItem {
            flag,
            body,
            properties,
        },
        r.position(),
    ))
}

/// Decodes every item, or the first error.
pub fn decode(body: &[u8]) -> Result<Vec<BatchItem<'_>>, CodecError> {
    iter(body).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_exact_item() {
        let item = BatchItem {
            flag: 0,
            body: b"body of d-0",
            properties: "KEYS\u{1}d-0\u{2}WAIT\u{1}true",
        };
        let bytes = encode(&[item]).unwrap();
        let mut expected = Vec::new();
        expected.extend_from_slice(&(22 + 11 + 18i32).to_be_bytes());
        expected.extend_from_slice(&[0; 12]);
        expected.extend_from_slice(&11i32.to_be_bytes());
        expected.extend_from_slice(b"body of d-0");
        expected.extend_from_slice(&18i16.to_be_bytes());
        expected.extend_from_slice(b"KEYS\x01d-0\x02WAIT\x01true");
        assert_eq!(&bytes[..], &expected[..]);
        assert_eq!(decode(&bytes).unwrap(), vec![item]);
    }

    #[test]
    fn round_trip_many_and_reject_truncation() {
        let items: Vec<_> = (0..5)
            .map(|i| BatchItem {
                flag: i,
                body: b"xyz",
                properties: "TAGS\u{1}T",
            })
            .collect();
        let bytes = encode(&items).unwrap();
        assert_eq!(decode(&bytes).unwrap(), items);
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert_eq!(decode(&[]).unwrap(), vec![]);
    }
}
