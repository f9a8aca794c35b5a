//! The queue of intents waiting for their chain check (and the pricing that starts beside
//! it). A crash brings bursts of intents, each with a commit window under a second, and a
//! check is a few RPC round trips: a solver that starts every check at once on a busy
//! machine finishes all of them late. So a fixed number of workers take intents one at a
//! time, **the freshest first** (the most commit window left), and an intent with too
//! little window left to be checked, priced and committed is dropped unread. Under load
//! the solver bids on time on some intents rather than late on all of them, and spends no
//! RPC on bids it could not make.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Checks in flight at once (the queue's workers). Their reads go through the chain's
/// coalescer, so more workers make larger shared batches rather than more round trips:
/// on the devnet crash, 12 workers shed about 300 intents per solver, 32 about 100.
pub(crate) const WORKERS: usize = 32;
/// Least time left in an intent's commit window for its check to be worth starting.
pub(crate) const LEAD_MS: u64 = 250;
/// Intents waiting at most; beyond it the stalest is dropped.
const MAX_QUEUED: usize = 1024;

/// What a worker takes from the queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next<T> {
    /// Check this one.
    Check(T),
    /// Too late for these: tell the book they went unchecked.
    Shed(Vec<T>),
}

/// Items (jobs, in the runtime) keyed by their commit window's end, in unix ms.
pub(crate) struct CheckQueue<T> {
    jobs: Mutex<Vec<(u64, T)>>,
    ready: Notify,
}

impl<T> CheckQueue<T> {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { jobs: Mutex::new(Vec::new()), ready: Notify::new() })
    }

    /// Queues `item`, whose commit window ends at `commit_end_ms`; returns the item it
    /// displaced when the queue was full (the one with the least window left, possibly
    /// `item` itself).
    pub fn push(&self, commit_end_ms: u64, item: T) -> Option<T> {
        let displaced = {
            let mut jobs = self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            jobs.push((commit_end_ms, item));
            if jobs.len() > MAX_QUEUED {
                let stalest = jobs.iter().enumerate().min_by_key(|(_, (end, _))| *end).map_or(0, |(at, _)| at);
                Some(jobs.swap_remove(stalest).1)
            } else {
                None
            }
        };
        self.ready.notify_one();
        displaced
    }

    /// Waits for work: the freshest item still worth checking at `now_ms()`, or those no
    /// longer worth it.
    pub async fn next(&self, now_ms: impl Fn() -> u64) -> Next<T> {
        loop {
            if let Some(next) = self.take(now_ms()) {
                return next;
            }
            self.ready.notified().await;
        }
    }

    fn take(&self, now_ms: u64) -> Option<Next<T>> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let late = |(end, _): &(u64, T)| now_ms.saturating_add(LEAD_MS) >= *end;
        let next = if jobs.iter().any(late) {
            let (shed, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut *jobs).into_iter().partition(late);
            *jobs = kept;
            Next::Shed(shed.into_iter().map(|(_, item)| item).collect())
        } else {
            let freshest = jobs.iter().enumerate().max_by_key(|(_, (end, _))| *end).map(|(at, _)| at)?;
            Next::Check(jobs.swap_remove(freshest).1)
        };
        if !jobs.is_empty() {
            // Another worker may take what is left.
            self.ready.notify_one();
        }
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_freshest_goes_first_and_the_late_are_shed() {
        let queue = CheckQueue::new();
        let now = 10_000;
        assert_eq!(queue.push(now + 500, "older"), None);
        assert_eq!(queue.push(now + 800, "fresh"), None);
        assert_eq!(queue.push(now + 100, "late"), None);
        assert_eq!(queue.take(now), Some(Next::Shed(vec!["late"])));
        assert_eq!(queue.take(now), Some(Next::Check("fresh")));
        // Time passes while "fresh" is checked: "older" is now too late as well.
        assert_eq!(queue.take(now + 300), Some(Next::Shed(vec!["older"])));
        assert_eq!(queue.take(now + 300), None);
    }

    #[test]
    fn a_full_queue_drops_the_stalest() {
        let queue = CheckQueue::new();
        for at in 0..MAX_QUEUED as u64 {
            assert_eq!(queue.push(1_000_000 + at, at), None);
        }
        assert_eq!(queue.push(2_000_000, 9_999), Some(0), "the one with the least window left");
        assert_eq!(queue.push(0, 7), Some(7), "a newcomer staler than all is the one dropped");
    }

    #[tokio::test]
    async fn a_waiting_worker_wakes_for_a_push() {
        let queue: Arc<CheckQueue<u32>> = CheckQueue::new();
        let worker = tokio::spawn({
            let queue = queue.clone();
            async move { queue.next(|| 0).await }
        });
        tokio::task::yield_now().await;
        queue.push(10_000, 42);
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), worker).await.unwrap().unwrap();
        assert_eq!(next, Next::Check(42));
    }
}
