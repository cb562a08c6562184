//! The message record (CommitLog entry, pull / query / view response body), RocketMQ v1
//! layout (magic `0xDAA320A7`), with v2 (`0xDAA320AB`, 2-byte topic length) also decoded.
//!
//! ```text
//! off  size  field
//!   0   4    TOTALSIZE            whole record, this field included
//!   4   4    MAGICCODE            v1 0xDAA320A7 | v2 0xDAA320AB
//!   8   4    BODYCRC              crc::body_crc(body)
//!  12   4    QUEUEID
//!  16   4    FLAG                 user flag
//!  20   8    QUEUEOFFSET
//!  28   8    PHYSICALOFFSET       CommitLog offset of this record
//!  36   4    SYSFLAG              sysflag bits; 0x10 / 0x20 widen the hosts below to IPv6
//!  40   8    BORNTIMESTAMP
//!  48   8|20 BORNHOST             ip (4|16) + port (i32)
//!   .   8    STORETIMESTAMP
//!   .   8|20 STOREHOST
//!   .   4    RECONSUMETIMES
//!   .   8    PREPARED TX OFFSET
//!   .   4+n  BODY                 i32 length + bytes
//!   .   1+n  TOPIC                v1: i8 length (v2: i16) + UTF-8
//!   .   2+n  PROPERTIES           i16 length + properties string
//! ```
//! All integers big-endian. With IPv4 hosts a v1 record is `91 + body + topic + properties`.

use crate::error::{utf8, Reader};
use crate::{crc, sysflag, CodecError};
use bytes::{BufMut, Bytes};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const MAGIC_V1: u32 = 0xDAA3_20A7;
pub const MAGIC_V2: u32 = 0xDAA3_20AB;
/// Magic of the filler record that closes a CommitLog segment.
pub const BLANK_MAGIC: u32 = 0xCBD4_3194;
/// Offset of the PHYSICALOFFSET field (`MessageDecoder.PHY_POS_POSITION`).
pub const PHYSICAL_OFFSET_POSITION: usize = 28;
/// Offset of the SYSFLAG field (`MessageDecoder.SYSFLAG_POSITION`).
pub const SYSFLAG_POSITION: usize = 36;
/// Offset of the QUEUEOFFSET field.
pub const QUEUE_OFFSET_POSITION: usize = 20;
/// Size of the blank marker (TOTALSIZE + MAGICCODE) that must fit at a segment's end.
pub const BLANK_MIN_LEN: usize = 8;

/// Record format version, chosen by the magic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageVersion {
    #[default]
    V1,
    V2,
}

impl MessageVersion {
    pub fn magic(self) -> u32 {
        match self {
            MessageVersion::V1 => MAGIC_V1,
            MessageVersion::V2 => MAGIC_V2,
        }
    }

    fn topic_len_width(self) -> usize {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }
}

/// The fixed-size fields of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub version: MessageVersion,
    pub body_crc: i32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    /// The V6 host bits are derived from the host addresses when encoding.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

impl Default for RecordHeader {
    fn default() -> Self {
        let unspecified = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0);
        RecordHeader {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}

fn host_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 8,
        SocketAddr::V6(_) => 20,
    }
}

fn put_host(out: &mut impl BufMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(addr.port()));
}

fn read_host(r: &mut Reader<'_>, v6: bool) -> Result<SocketAddr, CodecError> {
    let ip: IpAddr = if v6 {
        let octets: [u8; 16] = r.take(16)?.try_into().expect("took 16");
        Ipv6Addr::from(octets).into()
    } else {
        let octets: [u8; 4] = r.take(4)?.try_into().expect("took 4");
        Ipv4Addr::from(octets).into()
    };
    let port = r.i32()?;
    let port = u16::try_from(port).map_err(|_| CodecError::BadLength(i64::from(port)))?;
    Ok(SocketAddr::new(ip, port))
}

/// A record borrowed from a buffer (a mapped segment, a response body): no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub header: RecordHeader,
    pub body: &'a [u8],
    pub topic: &'a str,
    pub properties: &'a str,
}

impl<'a> RecordView<'a> {
    /// The sysFlag as it is written: the caller's bits with the V6 bits set from the hosts.
    pub fn effective_sys_flag(&self) -> i32 {
        let mut flag =
            self.header.sys_flag & !(sysflag::BORNHOST_V6_FLAG | sysflag::STOREHOSTADDRESS_V6_FLAG);
        if self.header.born_host.is_ipv6() {
            flag |= sysflag::BORNHOST_V6_FLAG;
        }
        if self.header.store_host.is_ipv6() {
            flag |= sysflag::STOREHOSTADDRESS_V6_FLAG;
        }
        flag
    }

    /// TOTALSIZE of the encoded record (`CommitLog.calMsgLength`).
    pub fn encoded_len(&self) -> usize {
        4 + 4
            + 4
            + 4
            + 4
            + 8
            + 8
            + 4
            + 8
            + host_len(&self.header.born_host)
            + 8
            + host_len(&self.header.store_host)
            + 4
            + 8
            + 4
            + self.body.len()
            + self.header.version.topic_len_width()
            + self.topic.len()
            + 2
            + self.properties.len()
    }

    /// Checks that every variable-length field fits its length field.
    pub fn check_lengths(&self) -> Result<(), CodecError> {
        let topic_max = match self.header.version {
            MessageVersion::V1 => i8::MAX as usize,
            MessageVersion::V2 => i16::MAX as usize,
        };
        if self.topic.len() > topic_max {
            return Err(CodecError::TooLong("topic"));
        }
        if self.properties.len() > i16::MAX as usize {
            return Err(CodecError::TooLong("properties"));
        }
        if self.encoded_len() > i32::MAX as usize {
            return Err(CodecError::TooLong("record"));
        }
        Ok(())
    }

    /// Writes the record; `out` must have room for [`encoded_len`](Self::encoded_len) bytes.
    pub fn encode_into(&self, out: &mut impl BufMut) -> Result<(), CodecError> {
        self.check_lengths()?;
        let h = &self.header;
        out.put_i32(self.encoded_len() as i32);
        out.put_u32(h.version.magic());
        out.put_i32(h.body_crc);
        out.put_i32(h.queue_id);
        out.put_i32(h.flag);
        out.put_i64(h.queue_offset);
        out.put_i64(h.physical_offset);
        out.put_i32(self.effective_sys_flag());
        out.put_i64(h.born_timestamp);
        put_host(out, &h.born_host);
        out.put_i64(h.store_timestamp);
        put_host(out, &h.store_host);
        out.put_i32(h.reconsume_times);
        out.put_i64(h.prepared_transaction_offset);
        out.put_i32(self.body.len() as i32);
        out.put_slice(self.body);
        match h.version {
            MessageVersion::V1 => out.put_i8(self.topic.len() as i8),
            MessageVersion::V2 => out.put_i16(self.topic.len() as i16),
        }
        out.put_slice(self.topic.as_bytes());
        out.put_i16(self.properties.len() as i16);
        out.put_slice(self.properties.as_bytes());
        Ok(())
    }

    pub fn encode_to_vec(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Decodes the record at the start of `buf` (which may hold more after it).
    ///
    /// Checks the magic, that every field fits, that TOTALSIZE equals the computed length and,
    /// with `verify_crc`, the body CRC. A segment's blank marker is [`CodecError::BadMagic`]
    /// with [`BLANK_MAGIC`]; use [`peek`] to tell it apart first.
    pub fn decode(buf: &'a [u8], verify_crc: bool) -> Result<RecordView<'a>, CodecError> {
        let mut r = Reader::new(buf);
        let total_size = r.i32()?;
        let magic = r.i32()? as u32;
        let version = match magic {
            MAGIC_V1 => MessageVersion::V1,
            MAGIC_V2 => MessageVersion::V2,
            other => return Err(CodecError::BadMagic(other)),
        };
        if total_size < 0 || total_size as usize > buf.len() {
            return Err(CodecError::Truncated {
                needed: total_size.max(0) as usize,
                available: buf.len(),
            });
        }
        let mut r = Reader::new(&buf[..total_size as usize]);
        r.take(8)?;
        let body_crc = r.i32()?;
        let queue_id = r.i32()?;
        let flag = r.i32()?;
        let queue_offset = r.i64()?;
        let physical_offset = r.i64()?;
        let sys_flag = r.i32()?;
        let born_timestamp = r.i64()?;
        let born_host = read_host(&mut r, sys_flag & sysflag::BORNHOST_V6_FLAG != 0)?;
        let store_timestamp = r.i64()?;
        let store_host = read_host(&mut r, sys_flag & sysflag::STOREHOSTADDRESS_V6_FLAG != 0)?;
        let reconsume_times = r.i32()?;
        let prepared_transaction_offset = r.i64()?;
        let body_len = r.i32()?;
        let body = r.len_prefixed(i64::from(body_len))?;
        let topic_len = match version {
            MessageVersion::V1 => i64::from(r.i8()?),
            MessageVersion::V2 => i64::from(r.i16()?),
        };
        let topic = utf8(r.len_prefixed(topic_len)?, "topic")?;
        let properties_len = r.i16()?;
        let properties = utf8(r.len_prefixed(i64::from(properties_len))?, "properties")?;
        if r.position() != total_size as usize {
            return Err(CodecError::LengthMismatch {
                declared: i64::from(total_size),
                computed: r.position() as i64,
            });
        }
        if verify_crc {
            let computed = crc::body_crc(body);
            if computed != body_crc {
                return Err(CodecError::BadCrc {
                    stored: body_crc,
                    computed,
                });
            }
        }
        Ok(RecordView {
            header: RecordHeader {
                version,
                body_crc,
                queue_id,
                flag,
                queue_offset,
                physical_offset,
                sys_flag,
                born_timestamp,
                born_host,
                store_timestamp,
                store_host,
                reconsume_times,
                prepared_transaction_offset,
            },
            body,
            topic,
            properties,
        })
    }

    pub fn to_owned_record(&self) -> MessageRecord {
        MessageRecord {
            header: self.header,
            body: Bytes::copy_from_slice(self.body),
            topic: self.topic.to_owned(),
            properties: self.properties.to_owned(),
        }
    }
}

/// What the 8 bytes at the start of `buf` announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peek {
    /// A message record of TOTALSIZE bytes.
    Message { total_size: i32 },
    /// The blank marker that ends a CommitLog segment.
    Blank { total_size: i32 },
    /// Anything else: zeroes past the end of written data, or garbage.
    Other,
}

/// Reads TOTALSIZE and MAGICCODE without decoding the record.
pub fn peek(buf: &[u8]) -> Peek {
    if buf.len() < 8 {
        return Peek::Other;
    }
    let total_size = i32::from_be_bytes(buf[0..4].try_into().expect("len checked"));
    let magic = u32::from_be_bytes(buf[4..8].try_into().expect("len checked"));
    match magic {
        MAGIC_V1 | MAGIC_V2 => Peek::Message { total_size },
        BLANK_MAGIC => Peek::Blank { total_size },
        _ => Peek::Other,
    }
}

/// Writes the blank marker that fills the `len` remaining bytes of a segment.
pub fn encode_blank(out: &mut impl BufMut, len: usize) {
    out.put_i32(len as i32);
    out.put_u32(BLANK_MAGIC);
}

/// An owned record, as a client holds a pulled message. The body shares the response buffer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageRecord {
    pub header: RecordHeader,
    pub body: Bytes,
    pub topic: String,
    pub properties: String,
}

impl MessageRecord {
    pub fn view(&self) -> RecordView<'_> {
        RecordView {
            header: self.header,
            body: &self.body,
            topic: &self.topic,
            properties: &self.properties,
        }
    }

    /// Decodes the record at the start of `buf`, sharing `buf` for the body.
    pub fn decode(buf: &Bytes, verify_crc: bool) -> Result<MessageRecord, CodecError> {
        let view = RecordView::decode(buf, verify_crc)?;
        let body = buf.slice_ref(view.body);
        Ok(MessageRecord {
            header: view.header,
            body,
            topic: view.topic.to_owned(),
            properties: view.properties.to_owned(),
        })
    }

    /// Decodes every record of a concatenation (a pull or query response body).
    pub fn decode_all(buf: &Bytes, verify_crc: bool) -> Result<Vec<MessageRecord>, CodecError> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < buf.len() {
            let rest = buf.slice(pos..);
            let record = MessageRecord::decode(&rest, verify_crc)?;
            pos += record.view().encoded_len();
            out.push(record);
        }
        Ok(out)
    }

    /// The offset message id of this stored record.
    pub fn offset_msg_id(&self) -> crate::message_id::OffsetMessageId {
        crate::message_id::OffsetMessageId::new(self.header.store_host, self.header.physical_offset)
    }

    pub fn property(&self, key: &str) -> Option<&str> {
        crate::properties::find(&self.properties, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(born: &str, store: &str) -> MessageRecord {
        let body = Bytes::from_static(b"Hello RocketMQ");
        MessageRecord {
            header: RecordHeader {
                body_crc: crc::body_crc(&body),
                queue_id: 3,
                flag: 7,
                queue_offset: 42,
                physical_offset: 123_456,
                sys_flag: sysflag::MULTI_TAGS_FLAG,
                born_timestamp: 1_690_000_000_123,
                born_host: born.parse().unwrap(),
                store_timestamp: 1_690_000_000_456,
                store_host: store.parse().unwrap(),
                reconsume_times: 1,
                prepared_transaction_offset: 0,
                ..RecordHeader::default()
            },
            body,
            topic: "TopicTest".into(),
            properties: "TAGS\u{1}TagA\u{2}KEYS\u{1}k1".into(),
        }
    }

    #[test]
    fn ipv4_layout_is_byte_exact() {
        let rec = sample("10.0.0.5:51234", "10.0.0.1:10911");
        let bytes = rec.view().encode_to_vec().unwrap();
        assert_eq!(bytes.len(), 91 + 14 + 9 + 17);
        #[rustfmt::skip]
        let head: Vec<u8> = [
            &(131i32).to_be_bytes()[..], &MAGIC_V1.to_be_bytes(), &rec.header.body_crc.to_be_bytes(),
            &3i32.to_be_bytes(), &7i32.to_be_bytes(), &42i64.to_be_bytes(), &123_456i64.to_be_bytes(),
            &2i32.to_be_bytes(), &1_690_000_000_123i64.to_be_bytes(),
            &[10, 0, 0, 5], &51234i32.to_be_bytes(),
            &1_690_000_000_456i64.to_be_bytes(),
            &[10, 0, 0, 1], &10911i32.to_be_bytes(),
            &1i32.to_be_bytes(), &0i64.to_be_bytes(),
            &14i32.to_be_bytes(), b"Hello RocketMQ",
            &[9], b"TopicTest",
            &17i16.to_be_bytes(), b"TAGS\x01TagA\x02KEYS\x01k1",
        ].concat();
        assert_eq!(bytes, head);
        let decoded = MessageRecord::decode(&Bytes::from(bytes), true).unwrap();
        assert_eq!(decoded, rec);
    }

    #[test]
    fn ipv6_hosts_widen_and_set_flags() {
        let rec = sample("[::1]:51234", "[2001:db8::7]:10911");
        let bytes = rec.view().encode_to_vec().unwrap();
        assert_eq!(bytes.len(), 91 + 24 + 14 + 9 + 17);
        let sys = i32::from_be_bytes(bytes[36..40].try_into().unwrap());
        assert_eq!(
            sys,
            sysflag::MULTI_TAGS_FLAG
                | sysflag::BORNHOST_V6_FLAG
                | sysflag::STOREHOSTADDRESS_V6_FLAG
        );
        assert_eq!(&bytes[48..64], &"::1".parse::<Ipv6Addr>().unwrap().octets());
        let decoded = RecordView::decode(&bytes, true).unwrap();
        assert_eq!(decoded.header.born_host, rec.header.born_host);
        assert_eq!(decoded.header.store_host, rec.header.store_host);
        assert_eq!(decoded.body, &rec.body[..]);
    }

    #[test]
    fn v2_topic_length_is_two_bytes() {
        let mut rec = sample("1.2.3.4:5", "5.6.7.8:9");
        rec.header.version = MessageVersion::V2;
        rec.topic = "t".repeat(200);
        let bytes = rec.view().encode_to_vec().unwrap();
        assert_eq!(&bytes[4..8], &MAGIC_V2.to_be_bytes());
        assert_eq!(RecordView::decode(&bytes, true).unwrap().topic.len(), 200);
        rec.header.version = MessageVersion::V1;
        assert_eq!(
            rec.view().encode_to_vec(),
            Err(CodecError::TooLong("topic"))
        );
    }

    #[test]
    fn detects_corruption() {
        let rec = sample("1.2.3.4:5", "5.6.7.8:9");
        let good = rec.view().encode_to_vec().unwrap();
        let mut bad_crc = good.clone();
        bad_crc[84 + 4] ^= 1; // first body byte
        assert!(matches!(
            RecordView::decode(&bad_crc, true),
            Err(CodecError::BadCrc { .. })
        ));
        assert!(RecordView::decode(&bad_crc, false).is_ok());
        assert!(matches!(
            RecordView::decode(&good[..good.len() - 1], true),
            Err(CodecError::Truncated { .. })
        ));
        let mut bad_len = good.clone();
        bad_len[0..4].copy_from_slice(&(good.len() as i32 - 1).to_be_bytes());
        assert!(RecordView::decode(&bad_len, true).is_err());
        let mut blank = Vec::new();
        encode_blank(&mut blank, 4096);
        assert_eq!(peek(&blank), Peek::Blank { total_size: 4096 });
        assert_eq!(
            peek(&good),
            Peek::Message {
                total_size: good.len() as i32
            }
        );
        assert_eq!(peek(&[0; 8]), Peek::Other);
        assert_eq!(
            RecordView::decode(&blank, true),
            Err(CodecError::BadMagic(BLANK_MAGIC))
        );
    }

    #[test]
    fn decode_all_splits_concatenation() {
        let a = sample("1.2.3.4:5", "5.6.7.8:9");
        let mut b = sample("[::1]:5", "5.6.7.8:9");
        b.topic = "Other".into();
        // A decoded record carries the V6 bits the encoder derived from its hosts.
        b.header.sys_flag = b.view().effective_sys_flag();
        let mut buf = a.view().encode_to_vec().unwrap();
        buf.extend(b.view().encode_to_vec().unwrap());
        let all = MessageRecord::decode_all(&Bytes::from(buf), true).unwrap();
        assert_eq!(all, vec![a, b]);
        assert_eq!(all[0].property("TAGS"), Some("TagA"));
        assert_eq!(
            all[0].offset_msg_id().encode(),
            "0506070800000009000000000001E240"
        );
    }
}
