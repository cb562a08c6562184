//! Body compression as RocketMQ producers apply it (`CompressorFactory`): zlib (RFC 1950)
//! signalled by `COMPRESSED_FLAG` plus the compression-type bits of the sysFlag.

use crate::sysflag::{COMPRESSED_FLAG, COMPRESSION_TYPE_MASK, COMPRESSION_ZLIB};
use crate::CodecError;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use std::io::{Read, Write};

/// Producers compress bodies of at least this many bytes (`compressMsgBodyOverHowmuch`).
pub const COMPRESS_OVER_BYTES: usize = 4096;
/// Default zlib level (`rocketmq.message.compressLevel`).
pub const DEFAULT_LEVEL: u32 = 5;

/// Zlib-compresses `body`; returns the bytes and the sysFlag bits to OR into the message.
pub fn compress_zlib(body: &[u8], level: u32) -> (Vec<u8>, i32) {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(body.len() / 2), Compression::new(level));
    encoder
        .write_all(body)
        .expect("writing into a Vec cannot fail");
    let out = encoder.finish().expect("writing into a Vec cannot fail");
    (out, COMPRESSED_FLAG | COMPRESSION_ZLIB)
}

/// Undoes the compression the sysFlag announces, refusing output larger than `max_len`.
/// Returns `None` when the body is not compressed.
pub fn decompress(
    body: &[u8],
    sys_flag: i32,
    max_len: usize,
) -> Result<Option<Vec<u8>>, CodecError> {
    if sys_flag & COMPRESSED_FLAG == 0 {
        return Ok(None);
    }
    match sys_flag & COMPRESSION_TYPE_MASK {
        // Clients up to 4.9.3 set only COMPRESSED_FLAG, which means zlib.
        0 | COMPRESSION_ZLIB => {}
        other => return Err(CodecError::UnsupportedCompression(other)),
    }
    inflate_zlib(body, max_len).map(Some)
}

/// Inflates a zlib stream, refusing output larger than `max_len`.
pub fn inflate_zlib(data: &[u8], max_len: usize) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(2).min(max_len));
    let limit = max_len as u64 + 1;
    ZlibDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| CodecError::Decompress(e.to_string()))?;
    if out.len() > max_len {
        return Err(CodecError::DecompressedTooLarge(max_len));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysflag::COMPRESSION_LZ4;

    #[test]
    fn round_trip_and_flags() {
        let body = "RocketMQ ".repeat(1000);
        let (packed, flags) = compress_zlib(body.as_bytes(), DEFAULT_LEVEL);
        assert!(packed.len() < body.len() / 10);
        assert_eq!(flags, 0x301);
        assert_eq!(&packed[..1], &[0x78]); // zlib header
        let out = decompress(&packed, flags, 1 << 20).unwrap().unwrap();
        assert_eq!(out, body.as_bytes());
        // Old clients: only bit 0.
        assert_eq!(
            decompress(&packed, 1, 1 << 20).unwrap().unwrap(),
            body.as_bytes()
        );
        assert_eq!(decompress(b"plain", 0, 10).unwrap(), None);
    }

    #[test]
    fn errors_instead_of_panics() {
        assert!(matches!(
            decompress(b"not zlib", 1, 100),
            Err(CodecError::Decompress(_))
        ));
        assert_eq!(
            decompress(b"x", COMPRESSED_FLAG | COMPRESSION_LZ4, 100),
            Err(CodecError::UnsupportedCompression(COMPRESSION_LZ4))
        );
        let (packed, flags) = compress_zlib(&[0u8; 10_000], 9);
        assert_eq!(
            decompress(&packed, flags, 9_999),
            Err(CodecError::DecompressedTooLarge(9_999))
        );
    }
}
