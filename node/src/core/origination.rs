//! Intents of our own: a candidate from the chain watcher (an account confirmed
//! liquidatable on chain) becomes an intent after a random jitter, unless a peer's copy
//! arrived meanwhile, the auction is live, or the node is in its post-restart quiet
//! period. The jitter's randomness is injected so tests are deterministic.

use std::collections::HashMap;

use alloy::primitives::B256;
use backstop_protocol::auction::{Accepted, IntentFacts};
use backstop_protocol::message::{Intent, Message};
use backstop_protocol::Kind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Core, Effect};
use crate::chain::Candidate;
use crate::observe;

pub struct Origination {
    /// Candidates waiting out the jitter: intent id -> (when to open, candidate).
    pending: HashMap<B256, (u64, Candidate)>,
    /// Auctions whose rounds ended without a valid bid: intent id -> (such rounds in a
    /// row, no round of ours before this instant).
    backoff: HashMap<B256, (u32, u64)>,
    /// Peers' copies whose chain check is in flight: intent id -> when it started.
    checking: HashMap<B256, u64>,
    /// Before this instant (unix ms) the node opens no intents of its own.
    quiet_until_ms: u64,
    rng: StdRng,
}

impl Default for Origination {
    fn default() -> Self {
        Self {
            pending: HashMap::new(),
            backoff: HashMap::new(),
            checking: HashMap::new(),
            quiet_until_ms: 0,
            rng: StdRng::from_entropy(),
        }
    }
}

/// Most candidates waiting out their jitter at once (one per account and nonce).
const MAX_PENDING_OPENS: usize = 16_384;
/// Extra wait (beyond the protocol's earliest instant) before our next round of an
/// auction whose last rounds drew no valid bid: none after the first such round, then
/// this, doubling with each further one in a row up to [`MAX_EMPTY_ROUND_BACKOFF_MS`]. Rounds
/// nobody bids on (a bonus below every solver's gas and margin, or solvers swamped by
/// a crash) used to reopen every two seconds; each costs every peer a chain check and
/// every solver a pricing, and swamped solvers then missed more rounds. The protocol's
/// own floor ([`backstop_protocol::timing::RETRY_GAP_MS`]) is unchanged: this is our
/// origination policy, and a peer's earlier round is still accepted.
const EMPTY_ROUND_BACKOFF_MS: u64 = 1_000;
const MAX_EMPTY_ROUND_BACKOFF_MS: u64 = 16_000;
/// Auctions with a backoff remembered at once; the oldest go first beyond it.
const MAX_BACKOFFS: usize = 16_384;
/// How long a peer's copy under its chain check holds back our own (the runtime's check
/// times out well before, and answers either way).
const PEER_CHECK_HOLD_MS: u64 = 5_000;
/// Peers' copies under check remembered at once; beyond it we may open our own.
const MAX_CHECKING: usize = 16_384;
/// Longest a copy we could not check defers our own round.
const MAX_DEFER_MS: u64 = 5_000;
/// Wait per place in an account's opener order (see [`opener_rank`]): the first node
/// opens at once, the next only if no copy arrived within this, and so on.
pub const OPENER_STEP_MS: u64 = 250;

/// Our place among the chain's committee members in the order that opens the auction
/// `id`: members sorted by `keccak256(id ‖ attester)`. Every node computes the same
/// order from the chain, so one of them opens each auction first and the others hold
/// back one step each; without it, every member saw the same block, opened its own copy
/// and every peer checked and relayed four copies of every casualty in a crash. A node
/// outside the committee comes last. This is origination policy: any copy is valid.
pub fn opener_rank(
    id: B256,
    attester: Option<alloy::primitives::Address>,
    committee: &[alloy::primitives::Address],
) -> usize {
    let Some(attester) = attester.filter(|attester| committee.contains(attester)) else { return committee.len() };
    let place =
        |member: &alloy::primitives::Address| alloy::primitives::keccak256([id.as_slice(), member.as_slice()].concat());
    let ours = place(&attester);
    committee.iter().filter(|member| place(member) < ours).count()
}

impl Origination {
    pub fn forget(&mut self, id: &B256) {
        self.pending.remove(id);
    }

    /// A peer's copy of `id` arrived and its claims are being checked: until the check
    /// answers, our own copy would only compete with it. Under load a check can take
    /// longer than a block; opening our own meanwhile made peers hold different copies,
    /// with different windows, accept different commits and split the committee's votes.
    pub fn peer_copy_checking(&mut self, id: B256, now_ms: u64) {
        self.pending.remove(&id);
        if self.checking.len() >= MAX_CHECKING {
            self.checking.retain(|_, since| now_ms.saturating_sub(*since) < PEER_CHECK_HOLD_MS);
        }
        if self.checking.len() < MAX_CHECKING {
            self.checking.insert(id, now_ms);
        }
    }

    /// The chain check of a peer's copy of `id` answered (its claims held or not).
    pub fn peer_copy_checked(&mut self, id: &B256) {
        self.checking.remove(id);
    }

    /// A peer's copy of `id` could not be checked (the RPC did not answer): our peers may
    /// well run its round, and a round of ours before theirs could end would be refused
    /// by them as too early and split the committee. None of ours before `until_ms`.
    pub fn defer(&mut self, id: B256, until_ms: u64, now_ms: u64) {
        // The copy's windows are a stranger's choice (up to 10 s each): never longer than this.
        let until_ms = until_ms.min(now_ms.saturating_add(MAX_DEFER_MS));
        self.pending.remove(&id);
        if self.backoff.len() >= MAX_BACKOFFS && !self.backoff.contains_key(&id) {
            return;
        }
        let (_, until) = self.backoff.entry(id).or_insert((0, 0));
        *until = (*until).max(until_ms);
    }

    fn peer_copy_in_check(&self, id: &B256, now_ms: u64) -> bool {
        self.checking.get(id).is_some_and(|since| now_ms.saturating_sub(*since) < PEER_CHECK_HOLD_MS)
    }

    /// The auction closed (settled, or liquidated through the open path).
    pub fn closed(&mut self, id: &B256) {
        self.pending.remove(id);
        self.backoff.remove(id);
    }

    /// A round of `id` was exhausted at `now_ms` with `bids` valid bids; a new round may
    /// open from `next_round_at_ms` by the protocol.
    pub fn round_exhausted(&mut self, id: B256, bids: usize, next_round_at_ms: u64, now_ms: u64) {
        if bids > 0 {
            // Solvers bid and did not settle: the no-show ledger handles them, and the
            // next round should come as soon as the protocol allows.
            self.backoff.remove(&id);
            return;
        }
        if self.backoff.len() >= MAX_BACKOFFS && !self.backoff.contains_key(&id) {
            if let Some(oldest) = self.backoff.iter().min_by_key(|(_, (_, until))| *until).map(|(id, _)| *id) {
                self.backoff.remove(&oldest);
            }
        }
        let (empty_rounds, until) = self.backoff.entry(id).or_insert((0, 0));
        *empty_rounds = empty_rounds.saturating_add(1);
        // The first empty round is retried as soon as the protocol allows: in a crash it is
        // usually one that swamped solvers reached too late, and its account is still
        // sinking. Only empty rounds in a row back off.
        let wait = match *empty_rounds {
            0 | 1 => 0,
            rounds => EMPTY_ROUND_BACKOFF_MS
                .checked_shl((rounds - 2).min(16))
                .unwrap_or(MAX_EMPTY_ROUND_BACKOFF_MS)
                .min(MAX_EMPTY_ROUND_BACKOFF_MS),
        };
        *until = next_round_at_ms.max(now_ms).saturating_add(wait);
        self.pending.remove(&id);
    }

    /// Whether our next round of `id` must still wait (see [`EMPTY_ROUND_BACKOFF_MS`]).
    pub fn backing_off(&self, id: &B256, now_ms: u64) -> bool {
        self.backoff.get(id).is_some_and(|(_, until)| now_ms < *until)
    }

    pub fn seed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// When the earliest waiting candidate is due (unix ms).
    pub fn next_due_ms(&self) -> Option<u64> {
        self.pending.values().map(|(at, _)| *at).min()
    }
}

impl Core {
    /// Our attester address, which places us in each auction's opener order.
    pub fn set_attester(&mut self, attester: alloy::primitives::Address) {
        self.attester = Some(attester);
    }

    /// Seeds the open jitter's randomness (deterministic simulations and tests).
    pub fn seed_jitter(&mut self, seed: u64) {
        self.origination.seed(seed);
    }

    /// When the next intent of our own is due to open, so the runtime can wake for it
    /// rather than at the next tick.
    pub fn next_open_due_ms(&self) -> Option<u64> {
        self.origination.next_due_ms()
    }

    /// Opens no intents of its own until `until_ms`; used after a restart.
    pub fn stay_quiet_until(&mut self, until_ms: u64) {
        observe::restart_quiet(until_ms);
        self.origination.quiet_until_ms = until_ms;
    }

    pub(crate) fn on_candidate(&mut self, candidate: Candidate, now_ms: u64, effects: &mut Vec<super::Effect>) {
        let chain_id = candidate.market.chain_id;
        let id = backstop_protocol::id::intent_id(
            chain_id,
            candidate.market.settlement,
            candidate.market.market_id,
            candidate.account,
            candidate.nonce,
        );
        let Some(book) = self.books.get_mut(&chain_id) else { return };
        // The candidate is read at the head: had this nonce settled on the canonical
        // chain, the nonce would have moved on. A closed id here was reorged out.
        if book.is_closed(&id) {
            observe::settlement_reorged_out(chain_id, id);
            book.reopen(id);
            effects.push(Effect::ResetAuction { id });
        }
        if !book.may_open(&id, now_ms)
            || self.origination.pending.contains_key(&id)
            || self.origination.backing_off(&id, now_ms)
            || self.origination.peer_copy_in_check(&id, now_ms)
        {
            return;
        }
        if self.origination.pending.len() >= MAX_PENDING_OPENS {
            return;
        }
        let jitter_ms = u64::try_from(self.config.open_jitter.as_millis()).unwrap_or(u64::MAX);
        let jitter = if jitter_ms == 0 { 0 } else { self.origination.rng.gen_range(0..=jitter_ms) };
        let committee: Vec<alloy::primitives::Address> = book.context.committee.attesters.iter().copied().collect();
        let rank = u64::try_from(opener_rank(id, self.attester, &committee)).unwrap_or(u64::MAX);
        let delay = jitter.saturating_add(rank.saturating_mul(OPENER_STEP_MS));
        self.origination.pending.insert(id, (now_ms.saturating_add(delay), candidate));
    }

    pub(crate) fn open_due_intents(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        if now_ms < self.origination.quiet_until_ms {
            // Candidates come back every block; peers handle them meanwhile.
            self.origination.pending.clear();
            return;
        }
        let due: Vec<B256> =
            self.origination.pending.iter().filter(|(_, (at, _))| *at <= now_ms).map(|(id, _)| *id).collect();
        for id in due {
            let Some((_, candidate)) = self.origination.pending.remove(&id) else { continue };
            let intent = Intent {
                chainId: candidate.market.chain_id,
                settlement: candidate.market.settlement,
                marketId: candidate.market.market_id,
                account: candidate.account,
                nonce: candidate.nonce,
                debtAsset: candidate.market.debt_asset,
                collateralAsset: candidate.market.collateral_assets.first().copied().unwrap_or_default(),
                maxRepay: candidate.max_repay,
                observedBlock: candidate.observed_block,
                observedPrice: candidate.observed_price,
                openTimeMs: now_ms,
                commitMs: u32::try_from(self.config.commit.as_millis()).unwrap_or(u32::MAX),
                revealMs: u32::try_from(self.config.reveal.as_millis()).unwrap_or(u32::MAX),
                reservePremium: candidate.market.reserve_premium,
            };
            // Our own reading of the chain is the check of our own claims.
            let facts = IntentFacts {
                head_block: candidate.observed_block,
                liquidatable: true,
                max_repay: candidate.max_repay,
                price: candidate.observed_price,
                current_nonce: candidate.nonce,
            };
            let our_key = self.our_key();
            let Some(book) = self.books.get_mut(&intent.chainId) else { continue };
            if backstop_protocol::auction::check_claims(&intent, &facts).is_err() {
                continue;
            }
            let accepted = match book.insert_verified(our_key, intent.clone(), now_ms) {
                Ok(accepted) => accepted,
                Err(_) => continue, // a peer's round is live, or the id closed meanwhile
            };
            let envelope = self.seal(&Message::Intent(intent.clone()));
            observe::intent_opened(intent.chainId, id, intent.account, intent.nonce);
            if let Accepted::Opened { .. } = accepted {
                self.on_accepted(&accepted, &envelope, effects);
            }
            effects.push(Effect::Publish { chain_id: intent.chainId, kind: Kind::Intent, envelope });
            effects.push(Effect::Opened {
                chain_id: intent.chainId,
                intent_id: id,
                detected_at_ms: candidate.detected_at_ms,
                confirmed_at_ms: candidate.confirmed_at_ms,
            });
        }
    }
}
