//! Node integration tests.

mod network;
