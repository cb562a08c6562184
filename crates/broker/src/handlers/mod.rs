//! One module per group of request codes; each handler reads its header and body, acts on
//! the broker's state and store, and builds the response Java would send.

/// `FAQUrl.suggestTodo(...)`: the tail Java adds to many remarks.
const FAQ: &str = "\nSee http://rocketmq.apache.org/docs/faq/ for further details.";

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
