//! The auction core shared by nodes and solvers: per-chain [`ChainBook`]s hold every
//! auction's rounds ([`Round`]), judge every message kind against the chain's
//! [`ChainContext`], check intents' claims against [`IntentFacts`] the runtime reads, and
//! run the award schedule. No I/O: inputs go in, judgements and [`Progress`] come out.
//!
//! # Rules (the protocol a compatible peer must implement)
//!
//! - **Origination**: any peer may originate an intent; it counts only once its claims
//!   hold against the chain (the account liquidatable, `maxRepay` and the observed price
//!   as the market reports them at `observedBlock`, the nonce the settlement's current
//!   one, debt asset and reserve as registered). A false claim can only be rejected, so
//!   restricting origination to registered nodes would add a trust assumption (and a
//!   liveness dependency on those nodes) without removing an attack.
//! - **Copies**: among copies of one intent id whose claims hold, the lowest
//!   `(observedBlock, keccak256(payload))` is canonical while commits are open; once a
//!   commit exists only a copy with identical bid terms may still take precedence, so
//!   the terms solvers bid on never change.
//! - **Awards**: see [`crate::timing`]: rank 0 at the decision, rank `r` once rank `r-1`'s
//!   deadline passed by the slack; a round with bids left never fails.
//! - **Rounds**: a round ends when its last award is dead (or at the decision without a
//!   valid bid); a new round of the same id may open [`crate::timing::RETRY_GAP_MS`] later.
//! - **Solvers**: with [`Admission::Bonded`], only keys bonded on the chain's
//!   `SolverRegistry` may commit, and a reveal's executor must be one that bonded the key.

mod book;
mod context;
mod facts;
mod noshow;
mod round;

pub use book::{
    Accepted, ChainBook, Judged, Judgement, Progress, MAX_AUCTIONS_PER_CHAIN, MAX_EARLY_VOTES, MAX_OPEN_PER_ORIGIN,
    MAX_PENDING_CHECKS,
};
pub use context::{Admission, ChainContext, Committee, MarketTerms, SolverSet};
pub use facts::{check_claims, check_observed_block, IntentFacts, MAX_OBSERVED_AGE_BLOCKS};
pub use noshow::{NoShowLedger, NO_SHOW_LIMIT};
pub use round::{CopyOutcome, Round, MAX_COMMITS_PER_ROUND};
