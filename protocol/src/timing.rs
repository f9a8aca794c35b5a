//! The auction clock. All times are unix milliseconds on the origin's clock; peers
//! tolerate [`CLOCK_DISPARITY_MS`] of skew, as Ethereum's gossip does.
//!
//! Every instant here is computed with saturating arithmetic: intents come from
//! strangers, and an `openTimeMs` near `u64::MAX` must give a verdict, never a panic.
//!
//! The award schedule is one rule shared by the committee's double-sign guard, the
//! node's voting and the solver SDK: rank 0 may be awarded once reveals are decided; rank
//! `r > 0` once the deadline of rank `r - 1` has passed by [`DEADLINE_SLACK_SECS`], so
//! no two awards of one auction can ever be settleable at the same time.

use crate::message::Intent;

/// Accepted clock disparity between peers.
pub const CLOCK_DISPARITY_MS: u64 = 500;
/// Default commit window.
pub const DEFAULT_COMMIT_MS: u32 = 800;
/// Default reveal window. Long on purpose: a round whose commits are all revealed is
/// decided as soon as commits close, whatever this is (see the award schedule), so the
/// window only bounds how late a reveal may be heard. With 400 ms, a devnet crash's
/// bursts (hundreds of commits and reveals a second on each peer) left reveals heard by
/// some committee members and not others, whose rankings then differed and whose votes
/// split (about one round in ten); with 1500 ms, one in two hundred.
pub const DEFAULT_REVEAL_MS: u32 = 1500;
/// Seconds an award stays settleable after its start.
pub const AWARD_VALIDITY_SECS: u64 = 12;
/// Slack after an award's deadline before the next rank may be awarded: the chain's
/// clock (block timestamps) may lag ours, and an award must be dead on chain before
/// another one for the same intent is signed.
pub const DEADLINE_SLACK_SECS: u64 = 3;
/// Shortest commit window an intent may announce: shorter ones would let an origin
/// shut out every solver slower than its own.
pub const MIN_COMMIT_MS: u32 = 500;
/// Shortest reveal window an intent may announce.
pub const MIN_REVEAL_MS: u32 = 300;
/// Longest window of either kind: longer ones would only delay the liquidation.
pub const MAX_WINDOW_MS: u32 = 10_000;
/// After a round is exhausted (every award expired, or no valid bid), a new round of
/// the same intent id may open this much later, on every peer alike.
pub const RETRY_GAP_MS: u64 = 1_000;

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

/// When an award of a given rank may be signed and until when it can settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwardWindow {
    /// First unix millisecond at which this rank may be awarded.
    pub start_ms: u64,
    /// The award's `deadline` field (unix seconds, inclusive on chain).
    pub deadline_secs: u64,
}

impl AwardWindow {
    /// First unix millisecond at which the *next* rank may be awarded.
    pub fn next_start_ms(&self) -> u64 {
        next_award_start_secs(self.deadline_secs).saturating_mul(1000)
    }
}

/// Second from which an award with `deadline_secs` is dead everywhere and may be replaced.
pub fn next_award_start_secs(deadline_secs: u64) -> u64 {
    deadline_secs.saturating_add(DEADLINE_SLACK_SECS).saturating_add(1)
}

/// The committee's double-sign guard: a member that signed an award with
/// `previous_deadline_secs` may sign a different award for the same intent only from
/// this rule's instant on, and only with a later deadline.
pub fn may_replace_award(previous_deadline_secs: u64, new_deadline_secs: u64, now_ms: u64) -> bool {
    now_ms / 1000 >= next_award_start_secs(previous_deadline_secs) && new_deadline_secs > previous_deadline_secs
}

impl Intent {
    pub fn commit_end_ms(&self) -> u64 {
        self.openTimeMs.saturating_add(u64::from(self.commitMs))
    }

    pub fn reveal_end_ms(&self) -> u64 {
        self.commit_end_ms().saturating_add(u64::from(self.revealMs))
    }

    /// Deadline of the winner's (rank 0) award in unix seconds, identical on every
    /// committee member so their signatures cover the same struct.
    pub fn award_deadline_secs(&self) -> u64 {
        self.reveal_end_ms().div_ceil(1000).saturating_add(AWARD_VALIDITY_SECS)
    }

    /// The award window of `rank` (see the module docs).
    pub fn award_window(&self, rank: usize) -> AwardWindow {
        let mut window = AwardWindow { start_ms: self.decide_at_ms(), deadline_secs: self.award_deadline_secs() };
        for _ in 0..rank {
            let start_secs = next_award_start_secs(window.deadline_secs);
            window = AwardWindow {
                start_ms: start_secs.saturating_mul(1000),
                deadline_secs: start_secs.saturating_add(AWARD_VALIDITY_SECS),
            };
        }
        window
    }

    /// The rank that may be awarded at `now_ms` among `bids` valid bids: `None` before
    /// the decision and once the round is exhausted.
    pub fn rank_at(&self, bids: usize, now_ms: u64) -> Option<usize> {
        if bids == 0 || now_ms < self.decide_at_ms() {
            return None;
        }
        let mut window = self.award_window(0);
        for rank in 0..bids {
            let next = window.next_start_ms();
            if now_ms < next {
                return Some(rank);
            }
            window = AwardWindow { start_ms: next, deadline_secs: (next / 1000).saturating_add(AWARD_VALIDITY_SECS) };
        }
        None
    }

    /// The instant the round is over on every peer: at the decision when no valid bid
    /// exists, else when the last rank's award is dead.
    pub fn exhausted_at_ms(&self, bids: usize) -> u64 {
        if bids == 0 {
            return self.decide_at_ms();
        }
        self.award_window(bids - 1).next_start_ms()
    }

    /// The earliest `openTimeMs` of a new round of the same intent id.
    pub fn next_round_at_ms(&self, bids: usize) -> u64 {
        self.exhausted_at_ms(bids).saturating_add(RETRY_GAP_MS)
    }

    /// The phase at `now_ms`, with tolerance for clock disparity on the open edge.
    pub fn phase_at(&self, now_ms: u64) -> Phase {
        if now_ms.saturating_add(CLOCK_DISPARITY_MS) < self.openTimeMs {
            Phase::NotOpen
        } else if now_ms < self.commit_end_ms() {
            Phase::Commit
        } else if now_ms < self.reveal_end_ms() {
            Phase::Reveal
        } else {
            Phase::Decided
        }
    }

    /// Commits are accepted from `open - disparity` until `commit_end + disparity`.
    pub fn accepts_commit_at(&self, now_ms: u64) -> bool {
        now_ms.saturating_add(CLOCK_DISPARITY_MS) >= self.openTimeMs
            && now_ms <= self.commit_end_ms().saturating_add(CLOCK_DISPARITY_MS)
    }

    /// Reveals are accepted from `commit_end - disparity` until `reveal_end + disparity`.
    pub fn accepts_reveal_at(&self, now_ms: u64) -> bool {
        now_ms.saturating_add(CLOCK_DISPARITY_MS) >= self.commit_end_ms()
            && now_ms <= self.reveal_end_ms().saturating_add(CLOCK_DISPARITY_MS)
    }

    /// When every honest peer has seen every timely reveal: decide after this.
    pub fn decide_at_ms(&self) -> u64 {
        self.reveal_end_ms().saturating_add(CLOCK_DISPARITY_MS)
    }

    /// Both windows within protocol bounds.
    pub fn windows_are_sane(&self) -> bool {
        (MIN_COMMIT_MS..=MAX_WINDOW_MS).contains(&self.commitMs)
            && (MIN_REVEAL_MS..=MAX_WINDOW_MS).contains(&self.revealMs)
    }

    /// The open time is not in the future beyond tolerance.
    pub fn is_from_the_future(&self, now_ms: u64) -> bool {
        self.openTimeMs > now_ms.saturating_add(CLOCK_DISPARITY_MS)
    }

    /// Commits can no longer be accepted: too late to take part.
    pub fn is_past_commits(&self, now_ms: u64) -> bool {
        now_ms > self.commit_end_ms().saturating_add(CLOCK_DISPARITY_MS)
    }

    /// Windows within bounds and an open time not too far from `now_ms`.
    pub fn timing_is_sane(&self, now_ms: u64) -> bool {
        self.windows_are_sane() && !self.is_from_the_future(now_ms) && !self.is_past_commits(now_ms)
    }
}

/// Current unix time in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
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
        let mut short = intent(10_000);
        short.commitMs = MIN_COMMIT_MS - 1;
        assert!(!short.timing_is_sane(10_000), "a window too short to let others bid");
    }

    #[test]
    fn an_open_time_near_u64_max_gives_verdicts_not_panics() {
        let mut far = intent(u64::MAX - 1);
        far.commitMs = u32::MAX;
        far.revealMs = u32::MAX;
        assert!(!far.timing_is_sane(10_000));
        assert_eq!(far.phase_at(u64::MAX), Phase::Decided);
        assert_eq!(far.rank_at(3, u64::MAX), None);
        assert_eq!(far.next_round_at_ms(3), u64::MAX);
        let _ = far.award_window(1_000);
    }

    #[test]
    fn each_rank_starts_only_after_the_previous_award_is_dead_on_chain() {
        let intent = intent(10_000);
        let first = intent.award_window(0);
        let second = intent.award_window(1);
        assert_eq!(first.start_ms, intent.decide_at_ms());
        assert_eq!(second.start_ms, (first.deadline_secs + DEADLINE_SLACK_SECS + 1) * 1000);
        assert_eq!(second.deadline_secs, second.start_ms / 1000 + AWARD_VALIDITY_SECS);
        // The committee guard admits the second award exactly when the schedule starts it.
        assert!(!may_replace_award(first.deadline_secs, second.deadline_secs, second.start_ms - 1));
        assert!(may_replace_award(first.deadline_secs, second.deadline_secs, second.start_ms));
        assert!(!may_replace_award(second.deadline_secs, first.deadline_secs, u64::MAX), "never an earlier deadline");
        // And the rank in force follows the same instants: never a rank skipped.
        assert_eq!(intent.rank_at(2, first.start_ms - 1), None);
        assert_eq!(intent.rank_at(2, first.start_ms), Some(0));
        assert_eq!(intent.rank_at(2, second.start_ms - 1), Some(0));
        assert_eq!(intent.rank_at(2, second.start_ms), Some(1));
        assert_eq!(intent.rank_at(2, intent.award_window(1).next_start_ms()), None);
        assert_eq!(intent.exhausted_at_ms(2), intent.award_window(1).next_start_ms());
        assert_eq!(intent.exhausted_at_ms(0), intent.decide_at_ms(), "no bid: over at the decision");
    }
}
