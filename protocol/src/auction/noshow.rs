//! The record of solvers that took a place in an auction and did not fill it: won an
//! award the committee signed (a threshold of votes, as this peer saw them) and never
//! settled it. A repeat offender is ranked after every other bidder for a while, so a
//! throwaway key bidding an absurd premium it never pays cannot keep deciding who wins.
//! Rankings stay the same everywhere only if every peer records the same offences, so
//! only evidence every peer sees alike counts (see `docs/protocol.md`, Ranking).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::envelope::PeerKey;

/// No-shows within [`WINDOW_MS`] that deprioritise a solver.
pub const NO_SHOW_LIMIT: usize = 2;
/// How long a no-show counts.
pub const WINDOW_MS: u64 = 30 * 60 * 1000;
/// Solvers tracked at once (the least recently offending are forgotten first).
pub const MAX_TRACKED: usize = 8192;

#[derive(Debug, Clone, Default)]
pub struct NoShowLedger {
    offences: HashMap<PeerKey, VecDeque<u64>>,
}

impl NoShowLedger {
    pub fn record(&mut self, solver: PeerKey, now_ms: u64) {
        if !self.offences.contains_key(&solver) && self.offences.len() >= MAX_TRACKED {
            let stalest =
                self.offences.iter().min_by_key(|(_, times)| times.back().copied().unwrap_or(0)).map(|(key, _)| *key);
            if let Some(stalest) = stalest {
                self.offences.remove(&stalest);
            }
        }
        let times = self.offences.entry(solver).or_default();
        times.push_back(now_ms);
        while times.len() > NO_SHOW_LIMIT * 4 {
            times.pop_front();
        }
    }

    pub fn count(&self, solver: &PeerKey, now_ms: u64) -> usize {
        self.offences
            .get(solver)
            .map_or(0, |times| times.iter().filter(|at| now_ms.saturating_sub(**at) < WINDOW_MS).count())
    }

    /// Solvers ranked last at `now_ms`.
    pub fn deprioritised(&self, now_ms: u64) -> HashSet<PeerKey> {
        self.offences.keys().filter(|solver| self.count(solver, now_ms) >= NO_SHOW_LIMIT).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;

    #[test]
    fn repeat_offenders_are_deprioritised_for_a_while() {
        let mut ledger = NoShowLedger::default();
        let solver = B256::repeat_byte(1);
        ledger.record(solver, 1_000);
        assert!(ledger.deprioritised(1_000).is_empty(), "one no-show is forgiven");
        ledger.record(solver, 2_000);
        assert!(ledger.deprioritised(2_000).contains(&solver));
        assert!(ledger.deprioritised(2_000 + WINDOW_MS).is_empty(), "offences age out");
    }
}
