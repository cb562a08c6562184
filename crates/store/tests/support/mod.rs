//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

pub use ferrocket_testkit::TempDir;

pub use ferrocket_testkit::put_message as message;
