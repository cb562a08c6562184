//! The tokio transport of the RocketMQ remoting protocol.
//!
//! This crate owns connections: a [`Channel`] is one TCP connection carrying requests and
//! responses both ways (a broker calls clients back on the connection they opened); the
//! [`server`] accepts connections and dispatches each request by code to a [`Processor`]
//! registered in a [`Router`]; the [`client`] keeps one channel per address and matches
//! responses to requests by opaque. Codecs live in `ferrocket-protocol`.

mod batch;
mod channel;
pub mod client;
mod error;
mod router;
pub mod server;

pub use channel::Channel;
pub use client::{ClientConfig, RemotingClient};
pub use error::RemotingError;
pub use router::{BoxFuture, HandlerResult, Processor, Router};
pub use server::{RemotingServer, ServerConfig};
