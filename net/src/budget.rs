//! Per-peer message budgets: a token bucket per peer and message kind, checked before a
//! message reaches the application.
//!
//! Gossipsub hands us each message once, from the first peer that delivered it, so one
//! honest peer may relay the whole network's traffic of a kind: a budget is therefore the
//! network-wide rate this peer is willing to validate, not one origin's share.
//!
//! Known limit: the transport sees who delivered a message, not who wrote it (that is the
//! envelope signer, which only the application checks). A message dropped under one
//! peer's budget is gone for us, since gossipsub treats later copies from other peers as
//! duplicates; so a flooder that relays honest messages and wins the race loses them for
//! us until it is graylisted (about 2 s of flooding, see `OVER_BUDGET_PENALTY`). Limits on
//! authors (open intents per origin, commits per solver) belong to the application.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use backstop_protocol::{Kind, Penalty};
use libp2p::PeerId;

/// A token bucket: `per_second` sustained, up to `burst` at once. A zero rate refuses the
/// kind from peers altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub per_second: u32,
    pub burst: u32,
}

impl Budget {
    pub const fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }
}

/// Budgets per message kind, applied to every peer separately, for **one chain**: the
/// transport multiplies them by the number of chains it serves (topics of every chain
/// share a peer's bucket of a kind).
///
/// The defaults size a bad crash on one chain: a block that takes a hundred accounts
/// under maintenance at once, each announced by up to four nodes in the same instant
/// (every committee member sees the block; copies are distinct messages), each drawing
/// commits and reveals from ~20 solvers and votes from ~10 committee members across its
/// rounds. The devnet's default crash (3 chains of ~200 accounts, 4 nodes) peaks near
/// 300 intents per second per chain; the old 50 a second for all chains together made
/// honest relayers go over budget, lose score and drop out of the meshes. Every burst is
/// two seconds' worth (one auction's commit window plus reveal window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLimits {
    pub intent: Budget,
    pub commit: Budget,
    pub reveal: Budget,
    pub vote: Budget,
    /// Outcomes are informative (the chain is the truth): one per intent and node at most.
    pub outcome: Budget,
}

impl Default for PeerLimits {
    fn default() -> Self {
        Self {
            intent: Budget::new(400, 800),
            commit: Budget::new(800, 1_600),
            reveal: Budget::new(800, 1_600),
            vote: Budget::new(800, 1_600),
            outcome: Budget::new(400, 800),
        }
    }
}

impl PeerLimits {
    /// These limits for `chains` chains served (at least one).
    pub fn for_chains(&self, chains: usize) -> Self {
        let factor = u32::try_from(chains.max(1)).unwrap_or(u32::MAX);
        let scale =
            |budget: Budget| Budget::new(budget.per_second.saturating_mul(factor), budget.burst.saturating_mul(factor));
        Self {
            intent: scale(self.intent),
            commit: scale(self.commit),
            reveal: scale(self.reveal),
            vote: scale(self.vote),
            outcome: scale(self.outcome),
        }
    }

    pub fn budget(&self, kind: Kind) -> Budget {
        match kind {
            Kind::Intent => self.intent,
            Kind::Commit => self.commit,
            Kind::Reveal => self.reveal,
            Kind::Vote => self.vote,
            Kind::Outcome => self.outcome,
        }
    }
}

/// What a peer pays for flooding, and how often.
///
/// Going over budget only drops messages. Penalties start beyond *twice* the budget: an
/// honest peer relays at most what its own budget admitted from the busiest source (one
/// budget's worth) on top of its few own messages, so only a peer producing traffic
/// nobody relayed to it crosses 2×. Beyond it, one `Mid` per 200 ms (one devnet
/// heartbeat): a flooder is graylisted after ~2 s however fast it floods, and an honest
/// peer that overshoots for one heartbeat in a crash pays a tenth of the way and recovers
/// as the penalty decays.
pub(crate) const OVER_BUDGET_PENALTY: Penalty = Penalty::Mid;
pub(crate) const OVER_BUDGET_PENALTY_INTERVAL: Duration = Duration::from_millis(200);

/// The verdict of a budget on one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Admitted,
    /// Drop it; `penalize` is set beyond twice the budget, at most once per
    /// [`OVER_BUDGET_PENALTY_INTERVAL`].
    OverBudget {
        penalize: bool,
    },
}

/// Two buckets of the same size: `tokens` admits messages, `tolerance` absorbs the
/// messages dropped over budget before penalties start.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    tolerance: f64,
    refilled: Instant,
    last_penalty: Option<Instant>,
}

impl Bucket {
    fn full(budget: Budget, now: Instant) -> Self {
        let burst = f64::from(budget.burst);
        Self { tokens: burst, tolerance: burst, refilled: now, last_penalty: None }
    }

    fn admit(&mut self, budget: Budget, now: Instant) -> Admission {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        let refill = elapsed * f64::from(budget.per_second);
        let burst = f64::from(budget.burst);
        self.tokens = (self.tokens + refill).min(burst);
        self.tolerance = (self.tolerance + refill).min(burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Admission::Admitted;
        }
        if self.tolerance >= 1.0 {
            self.tolerance -= 1.0;
            return Admission::OverBudget { penalize: false };
        }
        let penalize =
            self.last_penalty.is_none_or(|last| now.saturating_duration_since(last) >= OVER_BUDGET_PENALTY_INTERVAL);
        if penalize {
            self.last_penalty = Some(now);
        }
        Admission::OverBudget { penalize }
    }
}

/// The buckets of every connected peer; a peer's buckets are dropped when it disconnects,
/// so memory is bounded by the connection limit.
#[derive(Debug)]
pub(crate) struct Budgets {
    limits: PeerLimits,
    peers: HashMap<PeerId, [Option<Bucket>; 5]>,
}

impl Budgets {
    pub(crate) fn new(limits: PeerLimits) -> Self {
        Self { limits, peers: HashMap::new() }
    }

    pub(crate) fn admit(&mut self, peer: PeerId, kind: Kind, now: Instant) -> Admission {
        let budget = self.limits.budget(kind);
        let bucket = self.peers.entry(peer).or_default()[crate::kind_slot(kind)]
            .get_or_insert_with(|| Bucket::full(budget, now));
        bucket.admit(budget, now)
    }

    pub(crate) fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgets(intent: Budget) -> Budgets {
        Budgets::new(PeerLimits { intent, ..PeerLimits::default() })
    }

    #[test]
    fn a_burst_is_admitted_then_the_rate_refills() {
        let mut budgets = budgets(Budget::new(10, 5));
        let peer = PeerId::random();
        let start = Instant::now();
        for _ in 0..5 {
            assert_eq!(budgets.admit(peer, Kind::Intent, start), Admission::Admitted);
        }
        assert!(matches!(budgets.admit(peer, Kind::Intent, start), Admission::OverBudget { .. }));
        // 10/s: one token every 100 ms.
        assert_eq!(budgets.admit(peer, Kind::Intent, start + Duration::from_millis(100)), Admission::Admitted);
        assert!(matches!(
            budgets.admit(peer, Kind::Intent, start + Duration::from_millis(100)),
            Admission::OverBudget { .. }
        ));
    }

    #[test]
    fn kinds_and_peers_have_separate_buckets() {
        let mut budgets = budgets(Budget::new(1, 1));
        let (first, second) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        assert_eq!(budgets.admit(first, Kind::Intent, now), Admission::Admitted);
        assert!(matches!(budgets.admit(first, Kind::Intent, now), Admission::OverBudget { .. }));
        assert_eq!(budgets.admit(first, Kind::Commit, now), Admission::Admitted);
        assert_eq!(budgets.admit(second, Kind::Intent, now), Admission::Admitted);
    }

    #[test]
    fn penalties_start_beyond_twice_the_budget() {
        let mut budgets = budgets(Budget::new(10, 3));
        let peer = PeerId::random();
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(budgets.admit(peer, Kind::Intent, now), Admission::Admitted);
        }
        for _ in 0..3 {
            assert_eq!(budgets.admit(peer, Kind::Intent, now), Admission::OverBudget { penalize: false });
        }
        assert_eq!(budgets.admit(peer, Kind::Intent, now), Admission::OverBudget { penalize: true });
    }

    #[test]
    fn a_relay_at_its_budget_is_never_penalised() {
        // Twice the rate, sustained: half admitted, half dropped, none penalised.
        let mut budgets = budgets(Budget::new(10, 10));
        let peer = PeerId::random();
        let start = Instant::now();
        for step in 0..2000u64 {
            let at = start + Duration::from_millis(step * 50);
            assert_ne!(budgets.admit(peer, Kind::Intent, at), Admission::OverBudget { penalize: true }, "step {step}");
        }
    }

    #[test]
    fn over_budget_penalties_are_rate_limited() {
        let mut budgets = budgets(Budget::new(0, 0));
        let peer = PeerId::random();
        let start = Instant::now();
        assert_eq!(budgets.admit(peer, Kind::Intent, start), Admission::OverBudget { penalize: true });
        for millis in [1, 50, 199] {
            let at = start + Duration::from_millis(millis);
            assert_eq!(budgets.admit(peer, Kind::Intent, at), Admission::OverBudget { penalize: false });
        }
        let at = start + OVER_BUDGET_PENALTY_INTERVAL;
        assert_eq!(budgets.admit(peer, Kind::Intent, at), Admission::OverBudget { penalize: true });
    }

    #[test]
    fn a_forgotten_peer_starts_with_a_full_bucket() {
        let mut budgets = budgets(Budget::new(0, 1));
        let peer = PeerId::random();
        let now = Instant::now();
        assert_eq!(budgets.admit(peer, Kind::Intent, now), Admission::Admitted);
        budgets.forget(&peer);
        assert_eq!(budgets.admit(peer, Kind::Intent, now), Admission::Admitted);
    }
}
