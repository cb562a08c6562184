//! The body CRC stored in every record: zip CRC32 with the sign bit cleared (`UtilAll.crc32`).

/// `java.util.zip.CRC32` of `body`, masked with `0x7FFFFFFF` as RocketMQ stores it.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(body_crc(b""), 0);
        // CRC32("123456789") = 0xCBF43926; sign bit cleared.
        assert_eq!(body_crc(b"123456789"), 0x4BF4_3926);
        assert!(body_crc(&[0xFF; 100]) >= 0);
    }
}
