//! Every way a gossip message can be refused, in one enum, and what each one means for
//! the network: its gossip [`Verdict`] (forward, drop, drop and penalise) and the
//! [`Penalty`] tier applied to the peer that delivered it, in the spirit of
//! Lighthouse's `PeerAction`. Nodes and solvers map refusals through these functions
//! only, so every peer judges every message the same way. A table test pins each rule.

use crate::envelope::EnvelopeError;

/// The application's verdict on an inbound gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Valid: forward it.
    Accept,
    /// Harmless but not worth forwarding (stale, duplicate, not ours to judge).
    Ignore,
    /// Provably forged, malformed or false: drop it and penalise the peer.
    Reject,
}

/// How much a refusal says about the peer that delivered the message, from "could
/// happen to an honest peer now and then" to "only a hostile peer sends this".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Penalty {
    /// No fault: clocks, races, a stale view of the chain.
    None,
    /// Tolerated about fifty times before the peer is cut off.
    High,
    /// Tolerated about ten times.
    Mid,
    /// Tolerated about five times.
    Low,
    /// Cut off at once.
    Fatal,
}

/// One variant per rule a message can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    // Envelope and topic.
    #[error("envelope refused: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("message kind or chain does not match the topic it arrived on")]
    TopicMismatch,
    #[error("chain not served by this peer")]
    ChainNotServed,

    // Intents: static checks.
    #[error("intent names another settlement contract")]
    WrongSettlement,
    #[error("market not (yet) known")]
    UnknownMarket,
    #[error("intent misstates the market's debt asset")]
    WrongDebtAsset,
    #[error("intent misstates the market's reserve premium")]
    WrongReserve,
    #[error("intent names a collateral the market does not list")]
    UnknownCollateral,
    #[error("commit or reveal window outside protocol bounds")]
    WindowsOutOfBounds,
    #[error("intent opens in the future")]
    FromTheFuture,
    #[error("intent past its commit window")]
    PastCommits,
    #[error("auction already closed")]
    AuctionClosed,
    #[error("duplicate intent")]
    DuplicateIntent,
    #[error("conflicting intent copy loses precedence")]
    LosesPrecedence,
    #[error("intent copy arrived after commits: the auction's terms are frozen")]
    TermsFrozen,
    #[error("a new round of this intent id may not open yet")]
    RoundTooEarly,
    #[error("origin has too many open intents")]
    OriginCapReached,
    #[error("too many auctions tracked on this chain")]
    AuctionCapReached,
    #[error("origin equivocated on this intent earlier and is ignored")]
    OriginBanned,

    // Intents: claims checked against the chain.
    #[error("observed block is ahead of this peer's view of the chain")]
    ObservedBlockAhead,
    #[error("observed block is too old")]
    ObservedBlockTooOld,
    #[error("account was not liquidatable at the observed block")]
    NotLiquidatable,
    #[error("intent nonce is not the settlement's current nonce")]
    StaleNonce,
    #[error("max repay differs from the market's at the observed block")]
    MaxRepayMismatch,
    #[error("observed price differs from the market's at the observed block")]
    PriceMismatch,
    #[error("the chain could not be read to check the intent")]
    ChainUnavailable,

    // Commits.
    #[error("commit for an unknown intent")]
    CommitUnknownIntent,
    #[error("commit outside the commit window")]
    CommitOutsideWindow,
    #[error("solver key is not admitted (no bonded registration)")]
    SolverNotAdmitted,
    #[error("duplicate commit")]
    DuplicateCommit,
    #[error("second, different commit from the same solver")]
    SecondCommit,
    #[error("commit limit reached for this intent")]
    CommitCapReached,

    // Reveals.
    #[error("reveal for an unknown intent")]
    RevealUnknownIntent,
    #[error("reveal without a known commit")]
    RevealWithoutCommit,
    #[error("reveal does not open its commitment")]
    RevealMismatch,
    #[error("duplicate reveal")]
    DuplicateReveal,
    #[error("reveal outside the reveal window")]
    RevealOutsideWindow,
    #[error("repay outside (0, max repay]")]
    RepayOutOfBounds,
    #[error("premium below the reserve")]
    BelowReserve,
    #[error("executor is not bonded with the revealing solver's key")]
    ExecutorNotAdmitted,

    // Votes.
    #[error("vote names another settlement contract")]
    VoteWrongSettlement,
    #[error("vote signature is not 65 bytes r || s || v with v in {{27, 28}} and low s")]
    VoteSignatureMalformed,
    #[error("vote signature does not recover to a key")]
    VoteUnrecoverable,
    #[error("award intent id does not match its market, account and nonce")]
    VoteIntentIdMismatch,
    #[error("vote signer is not a committee member")]
    NotCommitteeMember,
    #[error("vote for an unknown or closed intent")]
    VoteUnknownIntent,
    #[error("vote differs from every award this peer computed")]
    VoteNotLocalAward,
    #[error("too many votes held before the local decision")]
    TooManyEarlyVotes,
    #[error("duplicate vote")]
    DuplicateVote,

    // Outcomes.
    #[error("unknown outcome status")]
    UnknownOutcomeStatus,
    #[error("outcome for an unknown intent")]
    OutcomeUnknownIntent,
    #[error("duplicate outcome")]
    DuplicateOutcome,
}

impl Rejection {
    /// The gossip verdict: `Reject` only for what an honest peer can never send.
    pub fn verdict(&self) -> Verdict {
        match self.penalty() {
            Penalty::None => Verdict::Ignore,
            _ => Verdict::Reject,
        }
    }

    /// The penalty tier for the peer that delivered the message.
    pub fn penalty(&self) -> Penalty {
        use Rejection::*;
        match self {
            // A relayer validates before forwarding: bytes that do not verify are its fault.
            Envelope(_) | TopicMismatch => Penalty::Low,
            ChainNotServed => Penalty::None,

            WrongSettlement | WrongDebtAsset | WrongReserve | UnknownCollateral | WindowsOutOfBounds => Penalty::Low,
            // A market registered a block ago may not be in our view yet.
            UnknownMarket => Penalty::None,
            FromTheFuture | PastCommits | AuctionClosed | DuplicateIntent | LosesPrecedence | TermsFrozen
            | RoundTooEarly | OriginCapReached | AuctionCapReached | OriginBanned => Penalty::None,

            // False claims about the chain at a block both sides can read.
            NotLiquidatable | MaxRepayMismatch | PriceMismatch => Penalty::Mid,
            // Races with the chain (a settlement just landed, our RPC lags or is down).
            ObservedBlockAhead | ObservedBlockTooOld | StaleNonce | ChainUnavailable => Penalty::None,

            CommitUnknownIntent | CommitOutsideWindow | DuplicateCommit | CommitCapReached => Penalty::None,
            // Registrations propagate block by block; our view may lag by one.
            SolverNotAdmitted => Penalty::None,
            SecondCommit => Penalty::Mid,

            RevealUnknownIntent | RevealWithoutCommit | DuplicateReveal | RevealOutsideWindow => Penalty::None,
            RevealMismatch => Penalty::Mid,
            // The reveal opens its commitment, so the solver chose an invalid bid: relaying it is harmless.
            BelowReserve => Penalty::High,
            // Not so for the repay bound: copies of one intent id may carry different
            // `maxRepay`, and a peer keeps the copy it held when the first commit came
            // (terms frozen), so an honest solver bidding its copy's whole `maxRepay` can
            // be above another peer's. A devnet crash saw every node penalise the solvers
            // that relayed such a reveal. Not counted, not relayed, nobody penalised.
            RepayOutOfBounds => Penalty::None,
            ExecutorNotAdmitted => Penalty::None,

            VoteWrongSettlement | VoteSignatureMalformed | VoteUnrecoverable | VoteIntentIdMismatch => Penalty::Low,
            // Committee changes propagate block by block; our view may lag.
            NotCommitteeMember => Penalty::None,
            VoteUnknownIntent | VoteNotLocalAward | TooManyEarlyVotes | DuplicateVote => Penalty::None,

            UnknownOutcomeStatus => Penalty::Low,
            OutcomeUnknownIntent | DuplicateOutcome => Penalty::None,
        }
    }

    /// A short, stable label for logs and metrics.
    pub fn label(&self) -> &'static str {
        use Rejection::*;
        match self {
            Envelope(_) => "envelope",
            TopicMismatch => "topic_mismatch",
            ChainNotServed => "chain_not_served",
            WrongSettlement => "wrong_settlement",
            UnknownMarket => "unknown_market",
            WrongDebtAsset => "wrong_debt_asset",
            WrongReserve => "wrong_reserve",
            UnknownCollateral => "unknown_collateral",
            WindowsOutOfBounds => "windows_out_of_bounds",
            FromTheFuture => "from_the_future",
            PastCommits => "past_commits",
            AuctionClosed => "auction_closed",
            DuplicateIntent => "duplicate_intent",
            LosesPrecedence => "loses_precedence",
            TermsFrozen => "terms_frozen",
            RoundTooEarly => "round_too_early",
            OriginCapReached => "origin_cap",
            AuctionCapReached => "auction_cap",
            OriginBanned => "origin_banned",
            ObservedBlockAhead => "observed_block_ahead",
            ObservedBlockTooOld => "observed_block_too_old",
            NotLiquidatable => "not_liquidatable",
            StaleNonce => "stale_nonce",
            MaxRepayMismatch => "max_repay_mismatch",
            PriceMismatch => "price_mismatch",
            ChainUnavailable => "chain_unavailable",
            CommitUnknownIntent => "commit_unknown_intent",
            CommitOutsideWindow => "commit_outside_window",
            SolverNotAdmitted => "solver_not_admitted",
            DuplicateCommit => "duplicate_commit",
            SecondCommit => "second_commit",
            CommitCapReached => "commit_cap",
            RevealUnknownIntent => "reveal_unknown_intent",
            RevealWithoutCommit => "reveal_without_commit",
            RevealMismatch => "reveal_mismatch",
            DuplicateReveal => "duplicate_reveal",
            RevealOutsideWindow => "reveal_outside_window",
            RepayOutOfBounds => "repay_out_of_bounds",
            BelowReserve => "below_reserve",
            ExecutorNotAdmitted => "executor_not_admitted",
            VoteWrongSettlement => "vote_wrong_settlement",
            VoteSignatureMalformed => "vote_signature_malformed",
            VoteUnrecoverable => "vote_unrecoverable",
            VoteIntentIdMismatch => "vote_intent_id_mismatch",
            NotCommitteeMember => "not_committee_member",
            VoteUnknownIntent => "vote_unknown_intent",
            VoteNotLocalAward => "vote_not_local_award",
            TooManyEarlyVotes => "too_many_early_votes",
            DuplicateVote => "duplicate_vote",
            UnknownOutcomeStatus => "unknown_outcome_status",
            OutcomeUnknownIntent => "outcome_unknown_intent",
            DuplicateOutcome => "duplicate_outcome",
        }
    }
}
