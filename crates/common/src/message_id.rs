//! Message ids: the broker's offset id (`MessageDecoder.createMessageId`) and the client's
//! `UNIQ_KEY` id (`MessageClientIDSetter`).

use crate::CodecError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Upper-case hex, as `UtilAll.bytes2string`.
pub fn to_hex(bytes: &[u8], out: &mut String) {
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xF) as usize] as char);
    }
}

fn from_hex(s: &str) -> Result<Vec<u8>, CodecError> {
    fn nibble(c: u8) -> Result<u8, CodecError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(CodecError::BadMessageId("not hexadecimal")),
        }
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(CodecError::BadMessageId("odd number of hex digits"));
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Ok(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// The id a broker returns for a stored message: store host, port and CommitLog offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OffsetMessageId {
    pub store_host: SocketAddr,
    pub commit_log_offset: i64,
}

impl OffsetMessageId {
    pub fn new(store_host: SocketAddr, commit_log_offset: i64) -> Self {
        OffsetMessageId {
            store_host,
            commit_log_offset,
        }
    }

    /// 32 hex characters for an IPv4 store host, 56 for IPv6.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(56);
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut String) {
        match self.store_host.ip() {
            IpAddr::V4(ip) => to_hex(&ip.octets(), out),
            IpAddr::V6(ip) => to_hex(&ip.octets(), out),
        }
        to_hex(&(self.store_host.port() as i32).to_be_bytes(), out);
        to_hex(&self.commit_log_offset.to_be_bytes(), out);
    }

    /// Decodes a 32-character (IPv4) or 56-character (IPv6) id.
    pub fn decode(id: &str) -> Result<Self, CodecError> {
        let bytes = from_hex(id)?;
        let (ip, rest): (IpAddr, &[u8]) = match bytes.len() {
            16 => {
                let octets: [u8; 4] = bytes[..4].try_into().expect("length checked");
                (Ipv4Addr::from(octets).into(), &bytes[4..])
            }
            28 => {
                let octets: [u8; 16] = bytes[..16].try_into().expect("length checked");
                (Ipv6Addr::from(octets).into(), &bytes[16..])
            }
            _ => return Err(CodecError::BadMessageId("length is neither 32 nor 56")),
        };
        let port = i32::from_be_bytes(rest[..4].try_into().expect("length checked"));
        let port =
            u16::try_from(port).map_err(|_| CodecError::BadMessageId("port out of range"))?;
        let offset = i64::from_be_bytes(rest[4..12].try_into().expect("length checked"));
        Ok(OffsetMessageId::new(SocketAddr::new(ip, port), offset))
    }
}

/// Generates client `UNIQ_KEY` ids: ip ‖ pid(2) ‖ per-process random(4) ‖ ms since the start of
/// the current month (4) ‖ counter(2), upper-case hex.
///
/// The month boundary is taken in UTC rather than the JVM's local zone; the time part is only
/// used for display, so ids stay unique and well-formed either way.
#[derive(Debug)]
pub struct UniqIdGenerator {
    prefix: String,
    counter: AtomicU16,
}

impl UniqIdGenerator {
    pub fn new(ip: IpAddr, pid: u32, salt: u32) -> Self {
        let mut prefix = String::with_capacity(40);
        match ip {
            IpAddr::V4(ip) => to_hex(&ip.octets(), &mut prefix),
            IpAddr::V6(ip) => to_hex(&ip.octets(), &mut prefix),
        }
        to_hex(&(pid as u16).to_be_bytes(), &mut prefix);
        to_hex(&salt.to_be_bytes(), &mut prefix);
        UniqIdGenerator {
            prefix,
            counter: AtomicU16::new(0),
        }
    }

    /// The next id for a message born at `now_ms` (Unix milliseconds).
    pub fn next_id(&self, now_ms: i64) -> String {
        let mut out = String::with_capacity(self.prefix.len() + 12);
        out.push_str(&self.prefix);
        let since_month = now_ms - start_of_month_ms(now_ms);
        to_hex(&(since_month as i32).to_be_bytes(), &mut out);
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        to_hex(&n.to_be_bytes(), &mut out);
        out
    }
}

/// Unix milliseconds of 00:00:00.000 UTC on day 1 of the month containing `ms`.
fn start_of_month_ms(ms: i64) -> i64 {
    let days = ms.div_euclid(crate::time::DAY_MS);
    let (year, month, _) = crate::time::civil_from_days(days);
    crate::time::days_from_civil(year, month, 1) * crate::time::DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_id_matches_golden_capture() {
        // From the golden batch send response: store host 127.0.0.1:10911, offset 0xD1A4.
        let id = OffsetMessageId::new("127.0.0.1:10911".parse().unwrap(), 0xD1A4);
        assert_eq!(id.encode(), "7F00000100002A9F000000000000D1A4");
        assert_eq!(
            OffsetMessageId::decode("7F00000100002A9F000000000000D1A4").unwrap(),
            id
        );
        assert_eq!(
            OffsetMessageId::decode("7f00000100002a9f000000000000d1a4").unwrap(),
            id
        );
    }

    #[test]
    fn offset_id_ipv6() {
        let id = OffsetMessageId::new("[2001:db8::1]:10911".parse().unwrap(), 1 << 40);
        let s = id.encode();
        assert_eq!(s.len(), 56);
        assert_eq!(
            s,
            "20010DB800000000000000000000000100002A9F0000010000000000"
        );
        assert_eq!(OffsetMessageId::decode(&s).unwrap(), id);
    }

    #[test]
    fn offset_id_rejects_garbage() {
        for bad in [
            "",
            "7F",
            "ZZ00000100002A9F000000000000D1A4",
            "7F00000100002A9F000000000000D1A",
        ] {
            assert!(OffsetMessageId::decode(bad).is_err(), "{bad}");
        }
        // A negative port is not an address.
        assert!(OffsetMessageId::decode("7F000001FFFFFFFF000000000000D1A4").is_err());
    }

    #[test]
    fn uniq_ids_are_unique_and_shaped() {
        let g = UniqIdGenerator::new("127.0.0.1".parse().unwrap(), 0x15AEB, 0x1DBD16A6);
        // 2026-11-21T06:49:07.923Z
        let now = 1_795_243_747_923;
        let a = g.next_id(now);
        let b = g.next_id(now);
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("7F0000015AEB1DBD16A6"));
        assert_ne!(a, b);
        assert!(a.ends_with("0000") && b.ends_with("0001"));
        // 20 days, 6h49m07.923s into November.
        let since = ((20 * 24 + 6) * 3600 + 49 * 60 + 7) * 1000 + 923;
        assert_eq!(&a[20..28], format!("{since:08X}"));
    }

    #[test]
    fn month_start() {
        // 2024-03-01T00:00:00Z and a moment on 2024-02-29 (leap day).
        assert_eq!(start_of_month_ms(1_709_251_200_000), 1_709_251_200_000);
        assert_eq!(start_of_month_ms(1_709_251_199_999), 1_706_745_600_000);
        assert_eq!(start_of_month_ms(0), 0);
    }
}
