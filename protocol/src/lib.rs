//! The Backstop wire protocol.
//!
//! Everything nodes, solvers and tests must agree on lives here and nowhere else:
//! the gossip messages ([`message`]), how they are signed ([`envelope`]), how ids and
//! commitments are derived ([`id`]), the auction clock ([`timing`]), the pure winner
//! selection ([`winner`]), the EIP-712 [`award`] the settlement contract verifies, and
//! the contract [`bindings`]. The crate does no I/O unless the `net` feature adds the
//! shared gossipsub transport.

pub mod award;
pub mod bindings;
pub mod envelope;
pub mod id;
pub mod message;
#[cfg(feature = "net")]
pub mod net;
pub mod timing;
pub mod topic;
pub mod winner;

pub use alloy::primitives::{Address, B256, U256};
pub use award::{Award, AwardError};
pub use envelope::{Envelope, EnvelopeError, PeerKey, Verified};
pub use message::{AwardVote, BidCommit, BidReveal, Intent, Kind, Message, Outcome, OutcomeStatus};
pub use winner::{rank_bids, RevealedBid};

/// Wire protocol version carried in every envelope.
pub const PROTOCOL_VERSION: u8 = 1;
