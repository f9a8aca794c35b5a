//! The Backstop wire protocol.
//!
//! Everything nodes, solvers and tests must agree on lives here and nowhere else:
//! the gossip messages ([`message`]), how they are signed ([`envelope`]), how ids and
//! commitments are derived ([`id`]), the auction clock ([`timing`]), the pure winner
//! selection ([`winner`]), the EIP-712 [`award`] the settlement contract verifies, the
//! verdict and penalty of every rule ([`rules`]) and the [`auction`] core that judges
//! every message. The crate does no I/O; contract bindings live in `backstop-bindings`.

pub mod auction;
pub mod award;
pub mod clock;
pub mod envelope;
pub mod id;
pub mod message;
pub mod rules;
pub mod timing;
pub mod topic;
pub mod winner;

pub use alloy::primitives::{Address, B256, U256};
pub use award::{Award, AwardError};
pub use envelope::{Envelope, EnvelopeError, PeerKey, Verified};
pub use message::{AwardVote, BidCommit, BidReveal, Intent, Kind, Message, Outcome, OutcomeStatus};
pub use rules::{Penalty, Rejection, Verdict};
pub use winner::{rank_bids, RevealedBid};

/// Wire protocol version carried in every envelope.
pub const PROTOCOL_VERSION: u8 = 1;
