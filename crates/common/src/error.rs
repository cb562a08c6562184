use thiserror::Error;

/// Why a byte sequence could not be decoded as one of the formats of this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("truncated input: need {needed} bytes, have {available}")]
    Truncated { needed: usize, available: usize },
    #[error("unknown magic code {0:#010x}")]
    BadMagic(u32),
    #[error("record length field {declared} does not match the computed length {computed}")]
    LengthMismatch { declared: i64, computed: i64 },
    #[error("body CRC mismatch: stored {stored}, computed {computed}")]
    BadCrc { stored: i32, computed: i32 },
    #[error("negative or oversized length {0}")]
    BadLength(i64),
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 { field: &'static str },
    #[error("{0} is too long for its length field")]
    TooLong(&'static str),
    #[error("invalid message id: {0}")]
    BadMessageId(&'static str),
    #[error("unsupported compression type {0:#x}")]
    UnsupportedCompression(i32),
    #[error("decompression failed: {0}")]
    Decompress(String),
    #[error("decompressed body exceeds {0} bytes")]
    DecompressedTooLarge(usize),
}

/// A bounds-checked big-endian reader over a byte slice; every read is fallible.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let available = self.buf.len() - self.pos;
        if n > available {
            return Err(CodecError::Truncated {
                needed: self.pos + n,
                available: self.buf.len(),
            });
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn i8(&mut self) -> Result<i8, CodecError> {
        Ok(i8::from_be_bytes(self.array()?))
    }
    pub(crate) fn i16(&mut self) -> Result<i16, CodecError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    pub(crate) fn i32(&mut self) -> Result<i32, CodecError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, CodecError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A length-prefixed field whose length must be non-negative.
    pub(crate) fn len_prefixed(&mut self, len: i64) -> Result<&'a [u8], CodecError> {
        let len = usize::try_from(len).map_err(|_| CodecError::BadLength(len))?;
        self.take(len)
    }
}

pub(crate) fn utf8<'a>(bytes: &'a [u8], field: &'static str) -> Result<&'a str, CodecError> {
    std::str::from_utf8(bytes).map_err(|_| CodecError::InvalidUtf8 { field })
}
