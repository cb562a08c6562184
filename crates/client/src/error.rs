use ferrocket_protocol::ResponseCode;
use ferrocket_remoting::RemotingError;
use thiserror::Error;

/// Everything a client call can fail with.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The connection or the request itself failed (connect, timeout, closed, bad frame).
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// The server answered with an error code; `remark` is its explanation.
    #[error("{addr} answered {code:?}: {remark}")]
    Server {
        addr: String,
        code: ResponseCode,
        remark: String,
    },
    /// No name server knows the topic, or it has no queue usable for the call.
    #[error("no route for topic {topic}: {reason}")]
    NoRoute { topic: String, reason: String },
    /// The message or call is refused before anything is sent.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A body or record could not be decoded.
    #[error("malformed data from {addr}: {detail}")]
    Malformed { addr: String, detail: String },
    /// Every attempt of a send failed; the last error is kept.
    #[error("send failed after {attempts} attempt(s) in {elapsed_ms} ms: {last}")]
    SendFailed {
        attempts: u32,
        elapsed_ms: u64,
        #[source]
        last: Box<ClientError>,
    },
    /// No name server address was configured (`namesrv_addr` or `NAMESRV_ADDR`).
    #[error("no name server address: set one on the builder or in NAMESRV_ADDR")]
    NoNameServer,
    /// The client was shut down or a group of that name is already started in this client.
    #[error("{0}")]
    State(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    pub(crate) fn server(addr: &str, cmd: &ferrocket_protocol::RemotingCommand) -> ClientError {
        ClientError::Server {
            addr: addr.to_owned(),
            code: cmd.response_code(),
            remark: cmd.remark.clone().unwrap_or_default(),
        }
    }

    pub(crate) fn malformed(addr: &str, detail: impl std::fmt::Display) -> ClientError {
        ClientError::Malformed {
            addr: addr.to_owned(),
            detail: detail.to_string(),
        }
    }

    /// The broker response code, when the server answered one.
    pub fn response_code(&self) -> Option<ResponseCode> {
        match self {
            ClientError::Server { code, .. } => Some(*code),
            ClientError::SendFailed { last, .. } => last.response_code(),
            _ => None,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
