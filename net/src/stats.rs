//! Transport counters, shared lock-free between the swarm task and every handle.
//!
//! [`NetStats`] is a plain snapshot; its doc comments are meant as the metrics' help text
//! when the node exports them.

use std::sync::atomic::{AtomicU64, Ordering};

use backstop_protocol::Kind;

/// Counters for one message kind, summed over chains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Messages gossipsub delivered to this peer (first copies only; duplicates never count).
    pub received: u64,
    /// Messages the application accepted (and that were then forwarded).
    pub accepted: u64,
    /// Messages the application ignored (stale, duplicate at the application level).
    pub ignored: u64,
    /// Messages the application rejected (the sender's score dropped, gossipsub P4).
    pub rejected: u64,
    /// Messages dropped before the application because the sender was over its budget.
    pub dropped_over_budget: u64,
    /// Messages dropped before the application because its inbound queue was full.
    pub dropped_queue_full: u64,
    /// Messages this peer published.
    pub published: u64,
}

/// A snapshot of the transport's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetStats {
    pub intent: KindStats,
    pub commit: KindStats,
    pub reveal: KindStats,
    pub vote: KindStats,
    pub outcome: KindStats,
    /// Peers connected right now.
    pub peers_connected: u64,
    /// Peers disconnected (and banned) because their score fell below the graylist threshold.
    pub peers_disconnected_for_score: u64,
    /// Peers banned right now.
    pub peers_banned: u64,
    /// Connected peers whose gossipsub score is below the publish threshold (as of the last
    /// maintenance pass): we neither publish to them nor keep them in a mesh, so they hear
    /// almost nothing from us, yet they are not banned.
    pub peers_below_publish: u64,
    /// Penalties applied, by the application (`penalize`) or by the budgets.
    pub penalties: u64,
}

impl NetStats {
    pub fn kind(&self, kind: Kind) -> &KindStats {
        match kind {
            Kind::Intent => &self.intent,
            Kind::Commit => &self.commit,
            Kind::Reveal => &self.reveal,
            Kind::Vote => &self.vote,
            Kind::Outcome => &self.outcome,
        }
    }

    /// Every kind with its counters, for exporters that label by kind.
    pub fn kinds(&self) -> [(Kind, KindStats); 5] {
        Kind::ALL.map(|kind| (kind, *self.kind(kind)))
    }
}

#[derive(Debug, Default)]
struct KindCounters {
    received: AtomicU64,
    accepted: AtomicU64,
    ignored: AtomicU64,
    rejected: AtomicU64,
    dropped_over_budget: AtomicU64,
    dropped_queue_full: AtomicU64,
    published: AtomicU64,
}

impl KindCounters {
    fn snapshot(&self) -> KindStats {
        KindStats {
            received: self.received.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            dropped_over_budget: self.dropped_over_budget.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
        }
    }
}

/// The events the swarm task counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    Received,
    Accepted,
    Ignored,
    Rejected,
    DroppedOverBudget,
    DroppedQueueFull,
    Published,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    kinds: [KindCounters; 5],
    peers_connected: AtomicU64,
    peers_disconnected_for_score: AtomicU64,
    peers_banned: AtomicU64,
    peers_below_publish: AtomicU64,
    penalties: AtomicU64,
}

impl Counters {
    pub(crate) fn count(&self, kind: Kind, what: Count) {
        let counters = &self.kinds[crate::kind_slot(kind)];
        let counter = match what {
            Count::Received => &counters.received,
            Count::Accepted => &counters.accepted,
            Count::Ignored => &counters.ignored,
            Count::Rejected => &counters.rejected,
            Count::DroppedOverBudget => &counters.dropped_over_budget,
            Count::DroppedQueueFull => &counters.dropped_queue_full,
            Count::Published => &counters.published,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_peers(&self, connected: usize, banned: usize) {
        self.peers_connected.store(connected as u64, Ordering::Relaxed);
        self.peers_banned.store(banned as u64, Ordering::Relaxed);
    }

    pub(crate) fn set_peers_below_publish(&self, peers: usize) {
        self.peers_below_publish.store(peers as u64, Ordering::Relaxed);
    }

    pub(crate) fn disconnected_for_score(&self) {
        self.peers_disconnected_for_score.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn penalty(&self) {
        self.penalties.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> NetStats {
        let kind = |kind: Kind| self.kinds[crate::kind_slot(kind)].snapshot();
        NetStats {
            intent: kind(Kind::Intent),
            commit: kind(Kind::Commit),
            reveal: kind(Kind::Reveal),
            vote: kind(Kind::Vote),
            outcome: kind(Kind::Outcome),
            peers_connected: self.peers_connected.load(Ordering::Relaxed),
            peers_disconnected_for_score: self.peers_disconnected_for_score.load(Ordering::Relaxed),
            peers_banned: self.peers_banned.load(Ordering::Relaxed),
            peers_below_publish: self.peers_below_publish.load(Ordering::Relaxed),
            penalties: self.penalties.load(Ordering::Relaxed),
        }
    }
}
