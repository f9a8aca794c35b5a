//! The auction clock. All times are unix milliseconds on the origin's clock; peers
//! tolerate [`CLOCK_DISPARITY_MS`] of skew, as Ethereum's gossip does.

use crate::message::Intent;

/// Accepted clock disparity between peers.
pub const CLOCK_DISPARITY_MS: u64 = 500;
/// Default commit window.
pub const DEFAULT_COMMIT_MS: u32 = 800;
/// Default reveal window.
pub const DEFAULT_REVEAL_MS: u32 = 400;
/// Seconds an award stays settleable after the reveal window closes.
pub const AWARD_VALIDITY_SECS: u64 = 12;
/// Bounds on announced windows: an intent outside them is rejected as insane.
pub const MIN_WINDOW_MS: u32 = 100;
pub const MAX_WINDOW_MS: u32 = 30_000;

/// Where an auction stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the origin's announced open time (beyond tolerance): the intent is from the future.
    NotOpen,
    Commit,
    Reveal,
    /// Reveals are closed; the winner can be decided.
    Decided,
}

impl Intent {
    pub fn commit_end_ms(&self) -> u64 {
        self.openTimeMs.saturating_add(u64::from(self.commitMs))
    }

    pub fn reveal_end_ms(&self) -> u64 {
        self.commit_end_ms().saturating_add(u64::from(self.revealMs))
    }

    /// Award deadline in unix seconds, identical on every committee member so their
    /// signatures cover the same struct.
    pub fn award_deadline_secs(&self) -> u64 {
        self.reveal_end_ms().div_ceil(1000) + AWARD_VALIDITY_SECS
    }

    /// The phase at `now_ms`, with tolerance for clock disparity on each edge: commits
    /// are accepted until `commit_end + disparity`, reveals from `commit_end - disparity`.
    pub fn phase_at(&self, now_ms: u64) -> Phase {
        if now_ms + CLOCK_DISPARITY_MS < self.openTimeMs {
            Phase::NotOpen
        } else if now_ms < self.commit_end_ms() {
            Phase::Commit
        } else if now_ms < self.reveal_end_ms() {
            Phase::Reveal
        } else {
            Phase::Decided
        }
    }

    pub fn accepts_commit_at(&self, now_ms: u64) -> bool {
        now_ms + CLOCK_DISPARITY_MS >= self.openTimeMs && now_ms <= self.commit_end_ms() + CLOCK_DISPARITY_MS
    }

    pub fn accepts_reveal_at(&self, now_ms: u64) -> bool {
        now_ms + CLOCK_DISPARITY_MS >= self.commit_end_ms() && now_ms <= self.reveal_end_ms() + CLOCK_DISPARITY_MS
    }

    /// When every honest peer has seen every timely reveal: decide after this.
    pub fn decide_at_ms(&self) -> u64 {
        self.reveal_end_ms() + CLOCK_DISPARITY_MS
    }

    /// Windows within bounds and an open time not too far from `now_ms`.
    pub fn timing_is_sane(&self, now_ms: u64) -> bool {
        let windows_ok = (MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&self.commitMs)
            && (MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&self.revealMs);
        let not_future = self.openTimeMs <= now_ms + CLOCK_DISPARITY_MS;
        let not_stale = now_ms <= self.commit_end_ms() + CLOCK_DISPARITY_MS;
        windows_ok && not_future && not_stale
    }
}

/// Current unix time in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(open: u64) -> Intent {
        Intent { openTimeMs: open, commitMs: 800, revealMs: 400, ..Default::default() }
    }

    #[test]
    fn phases_follow_the_windows() {
        let intent = intent(10_000);
        assert_eq!(intent.phase_at(9_000), Phase::NotOpen);
        assert_eq!(intent.phase_at(10_000), Phase::Commit);
        assert_eq!(intent.phase_at(10_799), Phase::Commit);
        assert_eq!(intent.phase_at(10_800), Phase::Reveal);
        assert_eq!(intent.phase_at(11_200), Phase::Decided);
        assert_eq!(intent.award_deadline_secs(), 12 + AWARD_VALIDITY_SECS);
    }

    #[test]
    fn edges_tolerate_clock_disparity_and_no_more() {
        let intent = intent(10_000);
        assert!(intent.accepts_commit_at(11_300));
        assert!(!intent.accepts_commit_at(11_301));
        assert!(intent.accepts_reveal_at(10_300));
        assert!(!intent.accepts_reveal_at(10_299));
        assert!(intent.accepts_reveal_at(11_700));
        assert!(!intent.accepts_reveal_at(11_701));
    }

    #[test]
    fn insane_timing_is_rejected() {
        assert!(intent(10_000).timing_is_sane(10_100));
        assert!(!intent(20_000).timing_is_sane(10_000), "from the future");
        assert!(!intent(1_000).timing_is_sane(10_000), "commit window long gone");
        let mut long = intent(10_000);
        long.commitMs = MAX_WINDOW_MS + 1;
        assert!(!long.timing_is_sane(10_000));
    }
}
