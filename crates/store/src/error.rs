use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("message body of {size} bytes exceeds maxMessageSize {max}")]
    MessageTooLarge { size: usize, max: usize },
    #[error("malformed message: {0}")]
    Codec(#[from] ferrocket_common::CodecError),
    /// An earlier fsync failed: nothing written since can be reported durable.
    #[error("the store refuses writes after a failed flush: {0}")]
    Poisoned(String),
    #[error("the store is shut down")]
    ShutDown,
    #[error("store I/O error: {0}")]
    Io(#[from] std::io::Error),
}
