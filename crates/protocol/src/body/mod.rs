//! JSON bodies of requests and responses (codes.md §13), as Java beans serialise them.

mod admin;
mod heartbeat;
mod route;
mod stats;
mod topic;

pub use admin::*;
pub use heartbeat::*;
pub use route::*;
pub use stats::*;
pub use topic::*;
