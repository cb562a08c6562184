use crate::json::JsonError;
use thiserror::Error;

/// Why bytes could not be read as, or a value could not be written as, a RocketMQ command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("frame of {0} bytes exceeds the 16 MiB limit or is shorter than its header word")]
    FrameTooLarge(usize),
    #[error("header is shorter than its fields declare")]
    TruncatedHeader,
    #[error("unknown serialize type {0}")]
    BadSerializeType(u8),
    #[error("malformed header field `{0}`")]
    BadHeaderField(&'static str),
    #[error("malformed JSON: {0}")]
    Json(#[from] JsonError),
    /// Java's `RemotingCommandException` text, which servers return with SYSTEM_ERROR.
    #[error("the custom field <{0}> is null")]
    MissingField(&'static str),
    #[error("the custom field <{field}> has an invalid value `{value}`")]
    InvalidField { field: &'static str, value: String },
    #[error(transparent)]
    Codec(#[from] ferrocket_common::CodecError),
}
