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
    /// Disk usage passed the warning level: puts are refused until space is freed.
    #[error("the disk of the store is full ({used_percent}% used); messages are refused")]
    DiskFull { used_percent: u32 },
    #[error("the store is shut down")]
    ShutDown,
    /// `brokerRole=SLAVE`: a slave's store takes messages only from its master.
    #[error("the broker is a slave; its store takes no puts")]
    SlaveMode,
    #[error("store I/O error: {0}")]
    Io(#[from] std::io::Error),
}
