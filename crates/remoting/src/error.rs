use ferrocket_protocol::ProtocolError;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RemotingError {
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("connect to {addr} timed out after {timeout:?}")]
    ConnectTimeout { addr: String, timeout: Duration },
    #[error("no response from {addr} within {timeout:?} (opaque {opaque})")]
    Timeout {
        addr: String,
        opaque: i32,
        timeout: Duration,
    },
    #[error("connection to {0} is closed")]
    ConnectionClosed(String),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
