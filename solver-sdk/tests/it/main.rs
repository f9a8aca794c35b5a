//! Integration tests for `backstop-solver-sdk`: a real solver against a real anvil
//! chain and an in-process gossip peer playing the node and its committee.

mod auction;
