//! Injected time. Every rule that depends on "now" takes it from a [`Clock`], so the
//! auction core is deterministic under test (a [`ManualClock`]) and on the wire
//! (unix milliseconds, the unit every peer exchanges).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A source of unix time in milliseconds.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        crate::timing::now_ms()
    }
}

/// A clock that moves only when told to; clones share the same instant.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn at(now_ms: u64) -> Self {
        Self(Arc::new(AtomicU64::new(now_ms)))
    }

    pub fn set(&self, now_ms: u64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the clock forward, saturating at `u64::MAX`.
    pub fn advance(&self, by_ms: u64) {
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| Some(now.saturating_add(by_ms)));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time_and_saturate() {
        let clock = ManualClock::at(10);
        let other = clock.clone();
        clock.advance(5);
        assert_eq!(other.now_ms(), 15);
        clock.advance(u64::MAX);
        assert_eq!(other.now_ms(), u64::MAX);
    }
}
