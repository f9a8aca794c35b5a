//! The per-intent auction state machine. Pure: time comes in as an argument, effects
//! (gossip, signing, storage) happen in the caller.

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{BidCommit, BidReveal, Intent};
use backstop_protocol::timing::AWARD_VALIDITY_SECS;
use backstop_protocol::{rank_bids, Award, RevealedBid};

/// Most commits one auction accepts; further ones are ignored (bounded input).
pub const MAX_COMMITS_PER_INTENT: usize = 256;

/// Why a message was not applied. `Reject` means the sender misbehaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Harmless: stale, duplicate, or out of window.
    Ignore(&'static str),
    /// Provably bad: penalise the peer.
    Reject(&'static str),
}

/// One auction: the canonical intent and the bids it has accepted.
#[derive(Debug, Clone)]
pub struct Auction {
    pub id: B256,
    pub intent: Intent,
    commits: BTreeMap<B256, B256>,
    reveals: BTreeMap<B256, RevealedBid>,
    /// Set when the settlement contract emitted `Settled` for this intent.
    pub settled: bool,
}

impl Auction {
    pub fn new(intent: Intent) -> Self {
        Self { id: intent.id(), intent, commits: BTreeMap::new(), reveals: BTreeMap::new(), settled: false }
    }

    /// Another copy of the same intent arrived. The lower precedence wins, but only
    /// while commits are still open: after that the copy everyone used stays.
    pub fn offer_copy(&mut self, copy: Intent, now_ms: u64) -> Result<(), Refusal> {
        if copy == self.intent {
            return Err(Refusal::Ignore("duplicate intent"));
        }
        if copy.precedence() < self.intent.precedence() && self.intent.accepts_commit_at(now_ms) {
            self.intent = copy;
            return Ok(());
        }
        Err(Refusal::Ignore("conflicting intent copy loses precedence"))
    }

    pub fn on_commit(&mut self, solver: B256, commit: &BidCommit, now_ms: u64) -> Result<(), Refusal> {
        if !self.intent.accepts_commit_at(now_ms) {
            return Err(Refusal::Ignore("commit outside the commit window"));
        }
        match self.commits.get(&solver) {
            Some(existing) if *existing == commit.commitment => Err(Refusal::Ignore("duplicate commit")),
            Some(_) => Err(Refusal::Reject("second commit from the same solver")),
            None if self.commits.len() >= MAX_COMMITS_PER_INTENT => Err(Refusal::Ignore("commit limit reached")),
            None => {
                self.commits.insert(solver, commit.commitment);
                Ok(())
            }
        }
    }

    pub fn on_reveal(&mut self, solver: B256, reveal: &BidReveal, now_ms: u64) -> Result<(), Refusal> {
        let Some(committed) = self.commits.get(&solver) else {
            return Err(Refusal::Ignore("reveal without a known commit"));
        };
        let expected = commitment(self.id, solver, reveal.executor, reveal.repayAmount, reveal.premium, reveal.salt);
        if expected != *committed {
            return Err(Refusal::Reject("reveal does not match its commitment"));
        }
        if self.reveals.contains_key(&solver) {
            return Err(Refusal::Ignore("duplicate reveal"));
        }
        if !self.intent.accepts_reveal_at(now_ms) {
            return Err(Refusal::Ignore("reveal outside the reveal window"));
        }
        if reveal.repayAmount > self.intent.maxRepay || reveal.repayAmount.is_zero() {
            return Err(Refusal::Reject("repay outside (0, max repay]"));
        }
        if reveal.premium < self.intent.reservePremium {
            return Err(Refusal::Reject("premium below the reserve"));
        }
        self.reveals.insert(
            solver,
            RevealedBid {
                solver,
                commitment: *committed,
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

    /// Valid bids, best first (see [`rank_bids`]).
    pub fn ranking(&self) -> Vec<RevealedBid> {
        let bids: Vec<RevealedBid> = self.reveals.values().cloned().collect();
        rank_bids(&bids, self.intent.reservePremium, self.intent.maxRepay)
    }

    /// Deadline (unix secs) of the award to the bidder at `rank`: the winner's follows
    /// the reveal window, each runner-up's starts when the previous one expired.
    pub fn deadline_for_rank(&self, rank: usize) -> u64 {
        self.intent.award_deadline_secs() + rank as u64 * AWARD_VALIDITY_SECS
    }

    /// The award for the bidder at `rank`, identical on every honest node.
    pub fn award_for_rank(&self, rank: usize) -> Option<Award> {
        let bid = self.ranking().into_iter().nth(rank)?;
        Some(Award {
            intentId: self.id,
            marketId: self.intent.marketId,
            account: self.intent.account,
            nonce: self.intent.nonce,
            executor: bid.executor,
            repayAmount: bid.repay_amount,
            premium: bid.premium,
            deadline: U256::from(self.deadline_for_rank(rank)),
        })
    }

    /// Which rank may be awarded at `now_secs`: 0 after the decision, then one more
    /// each time an award's deadline passes unsettled. `None` once every bid expired.
    pub fn current_rank(&self, now_secs: u64) -> Option<usize> {
        let bids = self.ranking().len();
        (0..bids).find(|rank| now_secs <= self.deadline_for_rank(*rank))
    }

    /// Past every possible award deadline (or no bid at all after the decision).
    pub fn is_exhausted(&self, now_ms: u64) -> bool {
        now_ms >= self.intent.decide_at_ms() && self.current_rank(now_ms / 1000).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;

    const OPEN: u64 = 1_000_000;

    fn intent() -> Intent {
        Intent {
            chainId: 1,
            openTimeMs: OPEN,
            commitMs: 800,
            revealMs: 400,
            maxRepay: U256::from(1000),
            reservePremium: U256::from(5),
            ..Default::default()
        }
    }

    fn bid(auction: &mut Auction, solver: u8, premium: u64) -> BidReveal {
        let reveal = BidReveal {
            chainId: 1,
            intentId: auction.id,
            executor: Address::repeat_byte(solver),
            repayAmount: U256::from(500),
            premium: U256::from(premium),
            salt: B256::repeat_byte(solver),
        };
        let solver_key = B256::repeat_byte(solver);
        let commitment =
            commitment(auction.id, solver_key, reveal.executor, reveal.repayAmount, reveal.premium, reveal.salt);
        auction.on_commit(solver_key, &BidCommit { chainId: 1, intentId: auction.id, commitment }, OPEN + 100).unwrap();
        reveal
    }

    #[test]
    fn sealed_bid_auction_awards_the_highest_premium() {
        let mut auction = Auction::new(intent());
        let low = bid(&mut auction, 1, 10);
        let high = bid(&mut auction, 2, 30);
        auction.on_reveal(B256::repeat_byte(1), &low, OPEN + 900).unwrap();
        auction.on_reveal(B256::repeat_byte(2), &high, OPEN + 900).unwrap();
        let award = auction.award_for_rank(0).unwrap();
        assert_eq!(award.executor, Address::repeat_byte(2));
        assert_eq!(award.premium, U256::from(30));
        assert_eq!(award.intentId, auction.id);
        assert_eq!(award.deadline, U256::from(auction.intent.award_deadline_secs()));
        assert_eq!(auction.award_for_rank(1).unwrap().executor, Address::repeat_byte(1));
    }

    #[test]
    fn a_reveal_must_open_its_commitment() {
        let mut auction = Auction::new(intent());
        let mut reveal = bid(&mut auction, 1, 10);
        reveal.premium = U256::from(99);
        assert_eq!(
            auction.on_reveal(B256::repeat_byte(1), &reveal, OPEN + 900),
            Err(Refusal::Reject("reveal does not match its commitment"))
        );
        assert_eq!(auction.reveal_count(), 0);
    }

    #[test]
    fn windows_are_enforced() {
        let mut auction = Auction::new(intent());
        let reveal = bid(&mut auction, 1, 10);
        assert_eq!(
            auction.on_reveal(B256::repeat_byte(1), &reveal, OPEN + 100),
            Err(Refusal::Ignore("reveal outside the reveal window"))
        );
        let late = BidCommit { chainId: 1, intentId: auction.id, commitment: B256::repeat_byte(3) };
        assert!(matches!(auction.on_commit(B256::repeat_byte(3), &late, OPEN + 2_000), Err(Refusal::Ignore(_))));
    }

    #[test]
    fn one_commit_per_solver() {
        let mut auction = Auction::new(intent());
        bid(&mut auction, 1, 10);
        let other = BidCommit { chainId: 1, intentId: auction.id, commitment: B256::repeat_byte(9) };
        assert_eq!(
            auction.on_commit(B256::repeat_byte(1), &other, OPEN + 200),
            Err(Refusal::Reject("second commit from the same solver"))
        );
    }

    #[test]
    fn below_reserve_and_oversized_repay_are_rejected() {
        let mut auction = Auction::new(intent());
        let cheap = bid(&mut auction, 1, 4);
        assert_eq!(
            auction.on_reveal(B256::repeat_byte(1), &cheap, OPEN + 900),
            Err(Refusal::Reject("premium below the reserve"))
        );
        assert!(auction.award_for_rank(0).is_none());
    }

    #[test]
    fn runner_up_is_awarded_only_after_the_winner_expired() {
        let mut auction = Auction::new(intent());
        let first = bid(&mut auction, 1, 10);
        let second = bid(&mut auction, 2, 20);
        auction.on_reveal(B256::repeat_byte(1), &first, OPEN + 900).unwrap();
        auction.on_reveal(B256::repeat_byte(2), &second, OPEN + 900).unwrap();
        let deadline = auction.deadline_for_rank(0);
        assert_eq!(auction.current_rank(deadline), Some(0));
        assert_eq!(auction.current_rank(deadline + 1), Some(1));
        assert_eq!(auction.current_rank(auction.deadline_for_rank(1) + 1), None);
        assert!(auction.is_exhausted((auction.deadline_for_rank(1) + 1) * 1000));
    }

    #[test]
    fn conflicting_copies_converge_on_the_lowest_precedence() {
        let mut a = intent();
        a.observedBlock = 10;
        let mut b = intent();
        b.observedBlock = 9;
        b.openTimeMs = OPEN + 50;
        let mut auction = Auction::new(a.clone());
        auction.offer_copy(b.clone(), OPEN + 100).unwrap();
        assert_eq!(auction.intent, b);
        assert!(auction.offer_copy(a, OPEN + 100).is_err());
        assert_eq!(auction.intent, b);
    }
}
