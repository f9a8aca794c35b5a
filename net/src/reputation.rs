//! What the application (and the budgets) hold against a peer: penalties carried into
//! gossipsub's application-specific score (P5), their decay, and bans.
//!
//! Gossipsub does not decay P5 itself, so this ledger does, with Lighthouse's peer-score
//! half-life. A ban is the disconnect-and-refuse that follows a score below the graylist.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use backstop_protocol::Penalty;
use libp2p::PeerId;

use crate::scoring::{GRAYLIST_THRESHOLD, TOPIC_SCORE_CAP};

/// Offences of this tier, in quick succession, that graylist a peer; `None` for
/// [`Penalty::None`], which costs nothing.
///
/// The tiers are the protocol's ([`backstop_protocol::Penalty`], where every rule is
/// mapped to one), in the spirit of Lighthouse's `PeerAction`. Each maps to a P5 score
/// delta such that `tolerance` offences close together take a peer with the best possible
/// topic score below [`GRAYLIST_THRESHOLD`]:
///
/// | penalty | tolerance | P5 delta | Lighthouse |
/// |---|---|---|---|
/// | `None`  | —   | 0 | — |
/// | `High`  | ~50 | −321 | `HighToleranceError` |
/// | `Mid`   | ~10 | −1 605 | `MidToleranceError` (also: flooding for one heartbeat) |
/// | `Low`   | ~5  | −3 210 | `LowToleranceError` |
/// | `Fatal` | 1   | −16 052 | `Fatal`: disconnected and banned at once |
///
/// Tolerance holds for offences close together; the ledger halves P5 every
/// [`APP_SCORE_HALF_LIFE`], so sparse offences are forgiven.
pub const fn tolerance(penalty: Penalty) -> Option<u32> {
    match penalty {
        Penalty::None => None,
        Penalty::High => Some(50),
        Penalty::Mid => Some(10),
        Penalty::Low => Some(5),
        Penalty::Fatal => Some(1),
    }
}

/// The P5 delta of a penalty: the distance from the best score (the topic cap) to just
/// below the graylist, split into `tolerance` equal steps.
pub fn score_delta(penalty: Penalty) -> f64 {
    match tolerance(penalty) {
        Some(tolerance) => -(-GRAYLIST_THRESHOLD + TOPIC_SCORE_CAP + 1.0) / f64::from(tolerance),
        None => 0.0,
    }
}

/// Lighthouse's peer-score half-life (600 s). Long enough that a peer cannot shed a
/// penalty by waiting out one ban (a Fatal peer comes back from a 5-minute ban still below
/// the publish threshold, on probation), short enough that a node whose RPC glitched is
/// whole again within half an hour.
pub const APP_SCORE_HALF_LIFE: Duration = Duration::from_secs(600);

/// Entries this close to zero are dropped, so the ledger stays bounded by the peers that
/// recently misbehaved.
const NEGLIGIBLE_SCORE: f64 = 1.0;

#[derive(Debug, Clone, Copy)]
struct AppScore {
    value: f64,
    updated: Instant,
}

impl AppScore {
    fn decayed(self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.value * 0.5f64.powf(elapsed / APP_SCORE_HALF_LIFE.as_secs_f64())
    }
}

/// Per-peer application scores, decaying over time.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    scores: HashMap<PeerId, AppScore>,
}

impl Ledger {
    /// Applies `penalty` (none costs nothing) and returns the peer's new P5 value (never below one Fatal, as
    /// Lighthouse clamps at its minimum, so a ban always ends).
    pub(crate) fn penalize(&mut self, peer: PeerId, penalty: Penalty, now: Instant) -> f64 {
        let current = self.value(&peer, now);
        let value = (current + score_delta(penalty)).max(score_delta(Penalty::Fatal));
        self.scores.insert(peer, AppScore { value, updated: now });
        value
    }

    pub(crate) fn value(&self, peer: &PeerId, now: Instant) -> f64 {
        self.scores.get(peer).map_or(0.0, |score| score.decayed(now))
    }

    /// Decays every entry to `now` and returns the new values to hand to gossipsub.
    /// Entries that reach ~0 are reported once as 0 and then forgotten.
    pub(crate) fn decay(&mut self, now: Instant) -> Vec<(PeerId, f64)> {
        let mut updates = Vec::with_capacity(self.scores.len());
        self.scores.retain(|peer, score| {
            let value = score.decayed(now);
            *score = AppScore { value, updated: now };
            if value.abs() < NEGLIGIBLE_SCORE {
                updates.push((*peer, 0.0));
                false
            } else {
                updates.push((*peer, value));
                true
            }
        });
        updates
    }
}

/// Peers refused until a deadline.
#[derive(Debug, Default)]
pub(crate) struct Bans {
    until: HashMap<PeerId, Instant>,
}

impl Bans {
    pub(crate) fn ban(&mut self, peer: PeerId, until: Instant) {
        self.until.insert(peer, until);
    }

    pub(crate) fn is_banned(&self, peer: &PeerId, now: Instant) -> bool {
        self.until.get(peer).is_some_and(|until| *until > now)
    }

    /// Removes and returns the bans that have run out.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let expired: Vec<PeerId> =
            self.until.iter().filter(|(_, until)| **until <= now).map(|(peer, _)| *peer).collect();
        for peer in &expired {
            self.until.remove(peer);
        }
        expired
    }

    pub(crate) fn len(&self) -> usize {
        self.until.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The best score a peer can have before its offences: the topic cap.
    fn best_score_after(penalty: Penalty, times: u32) -> f64 {
        let mut ledger = Ledger::default();
        let peer = PeerId::random();
        let now = Instant::now();
        let mut value = 0.0;
        for _ in 0..times {
            value = ledger.penalize(peer, penalty, now);
        }
        TOPIC_SCORE_CAP + value
    }

    #[test]
    fn each_penalty_graylists_after_its_tolerance_and_not_before() {
        for penalty in [Penalty::Low, Penalty::Mid, Penalty::High, Penalty::Fatal] {
            let tolerance = tolerance(penalty).expect("a real penalty has a tolerance");
            assert!(best_score_after(penalty, tolerance) < GRAYLIST_THRESHOLD, "{penalty:?}");
            assert!(best_score_after(penalty, tolerance - 1) > GRAYLIST_THRESHOLD, "{penalty:?}");
        }
    }

    #[test]
    fn penalties_halve_every_half_life_and_are_then_forgotten() {
        let mut ledger = Ledger::default();
        let peer = PeerId::random();
        let start = Instant::now();
        let value = ledger.penalize(peer, Penalty::Low, start);
        let later = ledger.value(&peer, start + APP_SCORE_HALF_LIFE);
        assert!((later - value / 2.0).abs() < 1e-6);
        let updates = ledger.decay(start + APP_SCORE_HALF_LIFE * 20);
        assert_eq!(updates, vec![(peer, 0.0)]);
        assert_eq!(ledger.value(&peer, start + APP_SCORE_HALF_LIFE * 20), 0.0);
    }

    #[test]
    fn the_score_never_falls_below_one_fatal() {
        let mut ledger = Ledger::default();
        let peer = PeerId::random();
        let now = Instant::now();
        ledger.penalize(peer, Penalty::Fatal, now);
        let value = ledger.penalize(peer, Penalty::Fatal, now);
        assert_eq!(value, score_delta(Penalty::Fatal));
    }

    #[test]
    fn no_penalty_costs_nothing() {
        assert_eq!(score_delta(Penalty::None), 0.0);
        assert_eq!(best_score_after(Penalty::None, 1000), TOPIC_SCORE_CAP);
    }

    #[test]
    fn bans_run_out() {
        let mut bans = Bans::default();
        let peer = PeerId::random();
        let now = Instant::now();
        bans.ban(peer, now + Duration::from_secs(5));
        assert!(bans.is_banned(&peer, now));
        assert!(bans.expire(now).is_empty());
        assert_eq!(bans.expire(now + Duration::from_secs(5)), vec![peer]);
        assert!(!bans.is_banned(&peer, now + Duration::from_secs(5)));
    }
}
