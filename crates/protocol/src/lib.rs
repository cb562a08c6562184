//! The RocketMQ 4.x remoting codec, pure and without tokio.
//!
//! This crate owns the bytes between two RocketMQ peers: the [`frame`] (length word, header
//! word, header, body), [`RemotingCommand`] with both header encodings ([`header::json`] and
//! [`header::binary`]), the table of every request and response code ([`codes`]), the typed
//! custom headers carried in `extFields` ([`header`]), and the JSON bodies ([`body`]) in the
//! fastjson dialect Java peers speak ([`json`]).
//!
//! Decoding never panics: malformed input of any kind is a [`ProtocolError`].

pub mod body;
pub mod codes;
pub mod command;
mod error;
pub mod frame;
pub mod header;
pub mod json;

pub use codes::{LanguageCode, RequestCode, ResponseCode};
pub use command::{ExtFields, RemotingCommand, SerializeType, FLAG_ONEWAY, FLAG_RESPONSE};
pub use error::ProtocolError;
pub use header::CommandHeader;
