//! One module per group of request codes; each handler reads its header and body, acts on
//! the broker's state and store, and builds the response Java would send.

pub mod acl;
pub mod admin;
pub mod call_consumer;
pub mod clients;
pub mod offsets;
pub mod progress;
pub mod pull;
pub mod query;
pub mod reply;
pub mod send;
pub mod send_back;
pub mod transaction;
