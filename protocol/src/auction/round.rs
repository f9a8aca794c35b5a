//! One round of one auction: the canonical intent copy, the commits and reveals it
//! accepted, and — once reveals close — the frozen ranking the award schedule follows.
//! Pure: time and admission come in as arguments.

use std::collections::{BTreeMap, HashSet};

use alloy::primitives::{B256, U256};

use crate::auction::context::Admission;
use crate::award::Award;
use crate::envelope::PeerKey;
use crate::id::commitment;
use crate::message::{BidReveal, Intent};
use crate::rules::Rejection;
use crate::winner::{rank_bids_with, RevealedBid};

/// Most commits one round accepts. With bonded admission every one costs its solver a
/// bond, so the cap is a memory bound, not the sybil defence.
pub const MAX_COMMITS_PER_ROUND: usize = 128;

/// What offering another copy of the intent did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyOutcome {
    /// The copy took precedence and is now canonical.
    Adopted,
}

/// One round. `decided` freezes the ranking at the decision instant, so later changes
/// (a no-show recorded, a reveal at the window's edge) cannot change who rank 1 is.
#[derive(Debug, Clone)]
pub struct Round {
    pub id: B256,
    intent: Intent,
    origin: PeerKey,
    commits: BTreeMap<PeerKey, B256>,
    reveals: BTreeMap<PeerKey, RevealedBid>,
    ranking: Option<Vec<RevealedBid>>,
}

/// The fields a sealed bid depends on.
fn same_terms(a: &Intent, b: &Intent) -> bool {
    a.maxRepay == b.maxRepay
        && a.reservePremium == b.reservePremium
        && a.collateralAsset == b.collateralAsset
        && a.commitMs == b.commitMs
        && a.revealMs == b.revealMs
}

impl Round {
    pub fn new(intent: Intent, origin: PeerKey) -> Self {
        Self { id: intent.id(), intent, origin, commits: BTreeMap::new(), reveals: BTreeMap::new(), ranking: None }
    }

    pub fn intent(&self) -> &Intent {
        &self.intent
    }

    pub fn origin(&self) -> PeerKey {
        self.origin
    }

    /// Whether `copy` would replace the canonical copy at `now_ms`, judged before any
    /// chain check: `Ok` means "check its claims, then call [`Round::adopt`]".
    ///
    /// Precedence is the lowest `(observedBlock, keccak256(payload))` among copies whose
    /// claims verified, while commits are open. Once a commit exists, a copy may still
    /// win precedence only if the terms solvers bid on are identical (`maxRepay`,
    /// `reservePremium`, `collateralAsset`, both windows): honest copies of one block
    /// converge, and no copy can change what a committed bid means.
    pub fn judge_copy(&self, copy: &Intent, now_ms: u64) -> Result<(), Rejection> {
        if *copy == self.intent {
            return Err(Rejection::DuplicateIntent);
        }
        if self.ranking.is_some() || !self.intent.accepts_commit_at(now_ms) {
            return Err(Rejection::TermsFrozen);
        }
        if !self.commits.is_empty() && !same_terms(copy, &self.intent) {
            return Err(Rejection::TermsFrozen);
        }
        if copy.precedence() >= self.intent.precedence() {
            return Err(Rejection::LosesPrecedence);
        }
        Ok(())
    }

    /// Adopts a verified copy that passes [`Round::judge_copy`].
    pub fn adopt(&mut self, copy: Intent, origin: PeerKey, now_ms: u64) -> Result<CopyOutcome, Rejection> {
        self.judge_copy(&copy, now_ms)?;
        self.intent = copy;
        self.origin = origin;
        Ok(CopyOutcome::Adopted)
    }

    pub fn on_commit(
        &mut self,
        solver: PeerKey,
        commitment: B256,
        now_ms: u64,
        admission: &Admission,
    ) -> Result<(), Rejection> {
        if !self.intent.accepts_commit_at(now_ms) || self.ranking.is_some() {
            return Err(Rejection::CommitOutsideWindow);
        }
        match self.commits.get(&solver) {
            Some(existing) if *existing == commitment => return Err(Rejection::DuplicateCommit),
            Some(_) => return Err(Rejection::SecondCommit),
            None => {}
        }
        if !admission.admits(&solver) {
            return Err(Rejection::SolverNotAdmitted);
        }
        if self.commits.len() >= MAX_COMMITS_PER_ROUND {
            return Err(Rejection::CommitCapReached);
        }
        self.commits.insert(solver, commitment);
        Ok(())
    }

    pub fn on_reveal(
        &mut self,
        solver: PeerKey,
        reveal: &BidReveal,
        now_ms: u64,
        admission: &Admission,
    ) -> Result<(), Rejection> {
        let Some(committed) = self.commits.get(&solver).copied() else {
            return Err(Rejection::RevealWithoutCommit);
        };
        let expected = commitment(self.id, solver, reveal.executor, reveal.repayAmount, reveal.premium, reveal.salt);
        if expected != committed {
            return Err(Rejection::RevealMismatch);
        }
        if self.reveals.contains_key(&solver) {
            return Err(Rejection::DuplicateReveal);
        }
        if !self.intent.accepts_reveal_at(now_ms) || self.ranking.is_some() {
            return Err(Rejection::RevealOutsideWindow);
        }
        if reveal.repayAmount.is_zero() || reveal.repayAmount > self.intent.maxRepay {
            return Err(Rejection::RepayOutOfBounds);
        }
        if reveal.premium < self.intent.reservePremium {
            return Err(Rejection::BelowReserve);
        }
        if !admission.admits_executor(&solver, reveal.executor) {
            return Err(Rejection::ExecutorNotAdmitted);
        }
        self.reveals.insert(
            solver,
            RevealedBid {
                solver,
                commitment: committed,
                executor: reveal.executor,
                repay_amount: reveal.repayAmount,
                premium: reveal.premium,
            },
        );
        Ok(())
    }

    pub fn commit_count(&self) -> usize {
        self.commits.len()
    }

    pub fn reveal_count(&self) -> usize {
        self.reveals.len()
    }

    pub fn has_commit(&self, solver: &PeerKey) -> bool {
        self.commits.contains_key(solver)
    }

    pub fn is_decided(&self) -> bool {
        self.ranking.is_some()
    }

    /// Whether the ranking may be frozen at `now_ms`: at `decideAt`, or earlier once
    /// every accepted commit has a valid reveal and no further commit can be accepted:
    /// commits are closed (`commitEnd + disparity` has passed), or, where solvers must be
    /// bonded, every admitted solver has revealed (one commit per solver key, and a
    /// second one is refused). From then on nothing can change this peer's ranking — a
    /// reveal must open an accepted commit — so the early decision is the one `decideAt`
    /// would give, sooner.
    pub fn may_decide(&self, now_ms: u64, admission: &Admission) -> bool {
        if now_ms >= self.intent.decide_at_ms() {
            return true;
        }
        if self.commits.is_empty() || self.reveals.len() != self.commits.len() {
            return false;
        }
        if self.intent.is_past_commits(now_ms) {
            return true;
        }
        match admission {
            Admission::Open => false,
            Admission::Bonded(set) => {
                let mut solvers = set.solvers().peekable();
                solvers.peek().is_some() && solvers.all(|solver| self.reveals.contains_key(solver))
            }
        }
    }

    /// Freezes the ranking; the solvers in `deprioritised` rank after all others.
    /// Idempotent: the first decision stands.
    pub fn decide(&mut self, deprioritised: &HashSet<PeerKey>) -> &[RevealedBid] {
        if self.ranking.is_none() {
            let bids: Vec<RevealedBid> = self.reveals.values().cloned().collect();
            self.ranking = Some(rank_bids_with(&bids, self.intent.reservePremium, self.intent.maxRepay, deprioritised));
        }
        self.ranking.as_deref().unwrap_or_default()
    }

    /// The frozen ranking, or the live one before the decision.
    pub fn ranking(&self) -> Vec<RevealedBid> {
        match &self.ranking {
            Some(ranking) => ranking.clone(),
            None => {
                let bids: Vec<RevealedBid> = self.reveals.values().cloned().collect();
                rank_bids_with(&bids, self.intent.reservePremium, self.intent.maxRepay, &HashSet::new())
            }
        }
    }

    fn bids(&self) -> usize {
        self.ranking.as_ref().map_or(0, Vec::len)
    }

    /// The award for the bidder at `rank`, identical on every honest peer.
    pub fn award_for_rank(&self, rank: usize) -> Option<Award> {
        let bid = self.ranking.as_ref()?.get(rank)?;
        Some(Award {
            intentId: self.id,
            marketId: self.intent.marketId,
            account: self.intent.account,
            nonce: self.intent.nonce,
            executor: bid.executor,
            repayAmount: bid.repay_amount,
            premium: bid.premium,
            deadline: U256::from(self.intent.award_window(rank).deadline_secs),
        })
    }

    /// The rank of `award` in this round's schedule, if it is one of its awards.
    pub fn rank_of(&self, award: &Award) -> Option<usize> {
        (0..self.bids()).find(|rank| self.award_for_rank(*rank).as_ref() == Some(award))
    }

    /// The rank that may be awarded at `now_ms` (see [`Intent::rank_at`]). A round decided
    /// early (see [`Round::may_decide`]) awards rank 0 from its decision: only rank 0's
    /// start moves, never a deadline.
    pub fn rank_at(&self, now_ms: u64) -> Option<usize> {
        if !self.is_decided() {
            return None;
        }
        self.intent.rank_at(self.bids(), now_ms.max(self.intent.decide_at_ms()))
    }

    /// Decided, and past the last award's death (or no valid bid).
    pub fn is_exhausted(&self, now_ms: u64) -> bool {
        self.is_decided() && now_ms >= self.intent.exhausted_at_ms(self.bids())
    }

    /// The earliest open time of the next round of this intent id.
    pub fn next_round_at_ms(&self) -> u64 {
        self.intent.next_round_at_ms(self.bids())
    }
}
