//! The TCP frame (`NettyEncoder` / `NettyDecoder`):
//!
//! ```text
//! total_len i32 | header_word i32 | header (header_len bytes) | body
//! total_len   = 4 + header_len + body_len          (excludes itself)
//! header_word = serialize_type << 24 | header_len  (24-bit length)
//! ```

use crate::command::{RemotingCommand, SerializeType};
use crate::header::{binary, json};
use crate::ProtocolError;
use bytes::{Buf, Bytes, BytesMut};

/// Largest frame a peer may send, length field included (`NettyDecoder.FRAME_MAX_LENGTH`).
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;
const HEADER_LEN_MAX: usize = 0x00FF_FFFF;

/// Writes the length field, header word and header of `cmd`; the body (counted in the length
/// field) must follow. Lets a transport send a large body without copying it.
pub fn encode_prefix(cmd: &RemotingCommand, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    match cmd.serialize_type {
        SerializeType::Json => json::encode(cmd, out),
        SerializeType::RocketMq => binary::encode(cmd, out),
    }
    let header_len = out.len() - start - 8;
    let body_len = cmd.body_len();
    let total = 4 + header_len + body_len;
    if header_len > HEADER_LEN_MAX || total + 4 > MAX_FRAME_LEN {
        out.truncate(start);
        return Err(ProtocolError::FrameTooLarge(total + 4));
    }
    let word = (u32::from(cmd.serialize_type.code()) << 24) | header_len as u32;
    out[start..start + 4].copy_from_slice(&(total as u32).to_be_bytes());
    out[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    Ok(())
}

/// The whole frame of `cmd`.
pub fn encode(cmd: &RemotingCommand) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::with_capacity(256 + cmd.body_len());
    encode_prefix(cmd, &mut out)?;
    for piece in cmd.body_pieces() {
        out.extend_from_slice(piece);
    }
    Ok(out)
}

/// Takes one whole frame off the front of `buf` (length field stripped), or `None` when more
/// bytes are needed. A length over [`MAX_FRAME_LEN`] or under 4 is an error: the peer is
/// broken and the connection should be closed.
pub fn split(buf: &mut BytesMut) -> Result<Option<Bytes>, ProtocolError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let total = u32::from_be_bytes(buf[..4].try_into().expect("len checked")) as usize;
    if total < 4 || total + 4 > MAX_FRAME_LEN {
        return Err(ProtocolError::FrameTooLarge(total.saturating_add(4)));
    }
    if buf.len() < 4 + total {
        buf.reserve(4 + total - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(total).freeze()))
}

/// Decodes a frame without its length field (as [`split`] returns it). The body shares `frame`.
pub fn decode(frame: Bytes) -> Result<RemotingCommand, ProtocolError> {
    if frame.len() < 4 {
        return Err(ProtocolError::TruncatedHeader);
    }
    let word = u32::from_be_bytes(frame[..4].try_into().expect("len checked"));
    let header_len = (word & HEADER_LEN_MAX as u32) as usize;
    let serialize_type = SerializeType::from_code((word >> 24) as u8)
        .ok_or(ProtocolError::BadSerializeType((word >> 24) as u8))?;
    if 4 + header_len > frame.len() {
        return Err(ProtocolError::TruncatedHeader);
    }
    let header = &frame[4..4 + header_len];
    let mut cmd = match serialize_type {
        SerializeType::Json => json::decode(header)?,
        SerializeType::RocketMq => binary::decode(header)?,
    };
    cmd.serialize_type = serialize_type;
    if frame.len() > 4 + header_len {
        cmd.body = Some(frame.slice(4 + header_len..));
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::RequestCode;

    #[test]
    fn json_frame_is_byte_exact() {
        let mut cmd = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
        cmd.opaque = 3;
        cmd.ext_mut().push("topic", "TopicTest");
        let bytes = encode(&cmd).unwrap();
        let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":409}"#;
        let mut expected = Vec::new();
        expected.extend_from_slice(&(4 + header.len() as u32).to_be_bytes());
        expected.extend_from_slice(&(header.len() as u32).to_be_bytes());
        expected.extend_from_slice(header);
        assert_eq!(bytes, expected);
        let mut buf = BytesMut::from(&bytes[..]);
        let frame = split(&mut buf).unwrap().unwrap();
        assert!(buf.is_empty());
        assert_eq!(decode(frame).unwrap(), cmd);
    }

    /// Body parts travel after the body as if they were part of it: same length field, same
    /// bytes, and the peer decodes one body.
    #[test]
    fn body_parts_follow_the_body_on_the_wire() {
        let mut cmd = RemotingCommand::request(RequestCode::PULL_MESSAGE);
        cmd.ext_mut().push("k", "v");
        let whole = cmd.clone().with_body(&b"headpart-1part-2"[..]);
        let parts = cmd.with_body(&b"head"[..]).with_body_parts(vec![
            Bytes::from_static(b"part-1"),
            Bytes::from_static(b"part-2"),
        ]);
        assert_eq!(parts.body_len(), 16);
        assert_eq!(encode(&parts).unwrap(), encode(&whole).unwrap());
        let mut buf = BytesMut::from(&encode(&parts).unwrap()[..]);
        let decoded = decode(split(&mut buf).unwrap().unwrap()).unwrap();
        assert_eq!(decoded, whole);
    }

    #[test]
    fn binary_frame_is_byte_exact() {
        let mut cmd = RemotingCommand::request(RequestCode::PULL_MESSAGE);
        cmd.serialize_type = SerializeType::RocketMq;
        cmd.opaque = 7;
        cmd.remark = Some("r".into());
        cmd.ext_mut().push("k", "vv");
        cmd.body = Some(Bytes::from_static(b"BODY"));
        let bytes = encode(&cmd).unwrap();
        #[rustfmt::skip]
        let header: &[u8] = &[
            0, 11, 0, 1, 0x99, 0, 0, 0, 7, 0, 0, 0, 0,
            0, 0, 0, 1, b'r',
            0, 0, 0, 9, 0, 1, b'k', 0, 0, 0, 2, b'v', b'v',
        ];
        let mut expected = Vec::new();
        expected.extend_from_slice(&(4 + header.len() as u32 + 4).to_be_bytes());
        expected.extend_from_slice(&(0x0100_0000 | header.len() as u32).to_be_bytes());
        expected.extend_from_slice(header);
        expected.extend_from_slice(b"BODY");
        assert_eq!(bytes, expected);
        let decoded = decode(Bytes::from(bytes[4..].to_vec())).unwrap();
        assert_eq!(decoded, cmd);
    }

    #[test]
    fn split_waits_for_whole_frames_and_rejects_bad_lengths() {
        let bytes = encode(&RemotingCommand::request(RequestCode::HEART_BEAT)).unwrap();
        let mut buf = BytesMut::from(&bytes[..bytes.len() - 1]);
        assert_eq!(split(&mut buf).unwrap(), None);
        buf.extend_from_slice(&bytes[bytes.len() - 1..]);
        assert!(split(&mut buf).unwrap().is_some());
        let mut huge = BytesMut::from(&((MAX_FRAME_LEN - 3) as u32).to_be_bytes()[..]);
        assert!(matches!(
            split(&mut huge),
            Err(ProtocolError::FrameTooLarge(_))
        ));
        let mut tiny = BytesMut::from(&3u32.to_be_bytes()[..]);
        assert!(split(&mut tiny).is_err());
        // Exactly at the limit is allowed.
        let mut edge = BytesMut::from(&((MAX_FRAME_LEN - 4) as u32).to_be_bytes()[..]);
        assert_eq!(split(&mut edge).unwrap(), None);
    }

    #[test]
    fn decode_rejects_garbage() {
        for bad in [
            &b""[..],
            &[0, 0, 0],
            &[0, 0, 0, 9],
            &[5, 0, 0, 0],
            &[0, 0, 0, 2, b'[', b']'][..],
            &[1, 0, 0, 3, 0, 1, 0],
        ] {
            assert!(decode(Bytes::copy_from_slice(bad)).is_err(), "{bad:?}");
        }
    }
}
