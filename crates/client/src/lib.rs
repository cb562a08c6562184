//! The Ferrocket client: a RocketMQ 4.x client in idiomatic async Rust.
//!
//! It owns the client side of the wire protocol — [`Producer`] (sync, async, oneway, batch,
//! selector sends with retries), [`TransactionProducer`] (half messages, local transactions,
//! answers to the broker's checks), [`PushConsumer`] (clustering or broadcasting, concurrent or
//! orderly listeners, rebalance, long polling, offset commits), [`LitePullConsumer`]
//! (subscribe or assign, seek, poll, commit) and [`Admin`] — and the [`ClientInstance`] they
//! share: name-server routes, one connection per broker, heartbeats and the periodic tasks
//! of `behaviour.md` §2. It speaks only the protocol, so it works against Ferrocket and
//! Apache RocketMQ 4.9 alike.

pub mod admin;
pub mod consumer;
mod error;
mod fault;
mod instance;
mod message;
pub mod producer;
mod route;
pub mod transaction;

pub use admin::Admin;
pub use consumer::allocate::AllocateStrategy;
pub use consumer::lite_pull::LitePullConsumer;
pub use consumer::push::{ConsumeConcurrentlyStatus, ConsumeOrderlyStatus, PushConsumer};
pub use consumer::{ConsumeFromWhere, MessageModel, StartPosition};
pub use error::{ClientError, Result};
pub use ferrocket_protocol::body::MessageQueue;
pub use instance::{ClientInstance, ClientOptions};
pub use message::{Message, MessageExt, SendResult, SendStatus};
pub use producer::Producer;
pub use route::TopicRoute;
pub use transaction::{
    LocalTransactionState, TransactionListener, TransactionProducer, TransactionSendResult,
};
