//! Integration tests of the gossip transport: real swarms on 127.0.0.1, port 0.

mod budgets;
mod config;
mod discovery;
mod scoring;
mod support;
