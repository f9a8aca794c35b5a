//! Gossipsub v1.1 peer-score parameters for Backstop's topics.
//!
//! The reference is Lighthouse's `gossipsub_scoring_parameters.rs` (the parameters the
//! Ethereum consensus clients converged on). We keep its thresholds and its *shape*
//! (how each weight is derived from a target) and rescale its time constants from 12 s
//! slots to Backstop's 1 s blocks: where Lighthouse says "N slots", we say "N blocks".
//! Everything here is pure, so the numbers are unit-tested without a network.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use backstop_protocol::topic::topic_name;
use backstop_protocol::Kind;
use libp2p::gossipsub::{IdentTopic, PeerScoreParams, PeerScoreThresholds, TopicScoreParams};

/// Below this a peer gets no IHAVE/IWANT gossip from us and its gossip is ignored.
/// Lighthouse's value; a quarter of the graylist so there is a wide "warning" band.
pub const GOSSIP_THRESHOLD: f64 = -4000.0;
/// Below this we do not flood-publish our own messages to the peer. Lighthouse's value.
pub const PUBLISH_THRESHOLD: f64 = -8000.0;
/// Below this gossipsub ignores everything the peer sends, and this crate disconnects and
/// bans it for [`crate::GossipConfig::ban_duration`]. Lighthouse's value, so the same
/// numbers mean the same thing to operators who know Ethereum's dashboards.
pub const GRAYLIST_THRESHOLD: f64 = -16000.0;
/// Peer exchange is off (Kademlia does discovery), so this only matters if PX is turned on:
/// 100 is twice the topic score cap, i.e. unreachable by topic behaviour alone, which is
/// Lighthouse's intent ("only bootstrappers and other trusted nodes").
pub const ACCEPT_PX_THRESHOLD: f64 = 100.0;
/// Median mesh score below which gossipsub grafts better-scoring peers. Lighthouse's value:
/// small and positive, reached by any peer that has delivered a few first messages.
pub const OPPORTUNISTIC_GRAFT_THRESHOLD: f64 = 5.0;

/// Score a topic can contribute for time in the mesh (P1) and first deliveries (P2);
/// Lighthouse's constants, so a perfect peer in one topic earns 50 × the topic weight.
const MAX_IN_MESH_SCORE: f64 = 10.0;
const MAX_FIRST_MESSAGE_DELIVERIES_SCORE: f64 = 40.0;

/// The unit Lighthouse calls a slot. Backstop's devnet and target chains produce a block
/// per second, and auctions are measured in blocks, so decay times are counted in these.
const BLOCK: Duration = Duration::from_secs(1);
/// Lighthouse's epoch is 32 slots; its "N epochs" become 32·N blocks here.
const EPOCH_BLOCKS: u32 = 32;
/// How often counters decay. Lighthouse decays once per slot; gossipsub forbids < 1 s.
pub(crate) const DECAY_INTERVAL: Duration = BLOCK;
/// A decayed counter below this is zero (Lighthouse's value).
const DECAY_TO_ZERO: f64 = 0.01;

/// Target mesh degree. The consensus-specs value (D = 8); used in the P2 cap below.
pub(crate) const MESH_N: usize = 8;
pub(crate) const MESH_N_LOW: usize = 6;
pub(crate) const MESH_N_HIGH: usize = 12;
pub(crate) const GOSSIP_LAZY: usize = 6;

/// Topic weight. The four auction topics are each on the critical path of every auction
/// (an auction fails if any step is not delivered), like blocks and aggregates in
/// Ethereum, so they get Lighthouse's 0.5. Outcomes are informative (the chain is the
/// truth), like voluntary exits and slashings, so they get Lighthouse's 0.05.
const fn topic_weight(kind: Kind) -> f64 {
    match kind {
        Kind::Intent | Kind::Commit | Kind::Reveal | Kind::Vote => 0.5,
        Kind::Outcome => 0.05,
    }
}

/// Expected network-wide messages per second on a busy devnet (a crash opening about
/// one intent per second, ~10 solvers, ~5 committee members). Only the P2 reward cap
/// depends on it: a wrong guess changes how fast peers earn positive score, not safety.
fn expected_rate_per_second(kind: Kind) -> f64 {
    match kind {
        Kind::Intent => 1.0,
        Kind::Commit | Kind::Reveal => 10.0,
        Kind::Vote => 5.0,
        Kind::Outcome => 1.0,
    }
}

/// How long first-delivery credit (P2) lasts, in blocks. Lighthouse: blocks 20 epochs,
/// aggregates 1 epoch, exits 100 epochs. Intents and votes are rare and decisive like
/// blocks; commits and reveals are high-volume like aggregates; outcomes like exits.
fn first_delivery_decay_blocks(kind: Kind) -> u32 {
    match kind {
        Kind::Intent | Kind::Vote => 20 * EPOCH_BLOCKS,
        Kind::Commit | Kind::Reveal => EPOCH_BLOCKS,
        Kind::Outcome => 100 * EPOCH_BLOCKS,
    }
}

/// Invalid-message memory (P4), in blocks: Lighthouse's 50 epochs, i.e. 1600 blocks,
/// about 27 minutes here. A rejecting peer stays visibly penalised that long.
const INVALID_MESSAGE_DECAY_BLOCKS: u32 = 50 * EPOCH_BLOCKS;

/// The most a well-behaved peer can earn in one chain's topics. Positive topic score is
/// capped at half of it (below); one invalid message costs all of it (P4 weight below).
pub const MAX_POSITIVE_SCORE: f64 = (MAX_IN_MESH_SCORE + MAX_FIRST_MESSAGE_DELIVERIES_SCORE)
    * (topic_weight(Kind::Intent)
        + topic_weight(Kind::Commit)
        + topic_weight(Kind::Reveal)
        + topic_weight(Kind::Vote)
        + topic_weight(Kind::Outcome));
/// Cap on the positive part of the topic score (Lighthouse: half the maximum). It is
/// computed per chain, not multiplied by the number of chains, so a peer on five chains
/// cannot bank five times the credit against later offences.
pub const TOPIC_SCORE_CAP: f64 = MAX_POSITIVE_SCORE * 0.5;

/// Decay factor per [`DECAY_INTERVAL`] that takes a counter to [`DECAY_TO_ZERO`] in
/// `blocks` blocks.
fn decay_over(blocks: u32) -> f64 {
    let ticks = (BLOCK * blocks).as_secs_f64() / DECAY_INTERVAL.as_secs_f64();
    DECAY_TO_ZERO.powf(1.0 / ticks)
}

/// Value a counter incremented `rate` times per tick converges to under `decay`.
fn decay_convergence(decay: f64, rate: f64) -> f64 {
    rate / (1.0 - decay)
}

/// The thresholds above, as gossipsub wants them.
pub fn thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: GOSSIP_THRESHOLD,
        publish_threshold: PUBLISH_THRESHOLD,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: ACCEPT_PX_THRESHOLD,
        opportunistic_graft_threshold: OPPORTUNISTIC_GRAFT_THRESHOLD,
    }
}

/// Score parameters for the topics of `chains`.
///
/// `retain_score` is how long a disconnected peer's counters are kept; gossipsub does not
/// decay them while the peer is away, so it is tied to the ban duration (see
/// [`crate::GossipConfig::ban_duration`]).
/// Sustained gossip protocol violations (broken IWANT promises, GRAFTs during backoff)
/// per block that bring a peer to the gossip threshold.
const BEHAVIOUR_VIOLATIONS_PER_BLOCK_TARGET: f64 = 10.0;

pub fn peer_score_params(chains: &[u64], retain_score: Duration) -> PeerScoreParams {
    let behaviour_penalty_decay = decay_over(10 * EPOCH_BLOCKS);
    // Lighthouse tolerates 6 violations and sizes the weight so that 10 per epoch,
    // sustained, reach the gossip threshold: right for a few messages a slot. A crash
    // here carries hundreds of messages a second, and a host starved of CPU breaks
    // dozens of IWANT promises in one burst without any ill intent (about 40 took honest
    // nodes past the graylist and got them banned). Tolerate 100, and let 10 violations
    // per *block*, sustained, reach the gossip threshold; a peer that advertises what it
    // never sends, at rate, is still graylisted.
    let behaviour_penalty_threshold = 100.0;
    let target =
        decay_convergence(behaviour_penalty_decay, BEHAVIOUR_VIOLATIONS_PER_BLOCK_TARGET) - behaviour_penalty_threshold;
    let topics: HashMap<_, _> = chains
        .iter()
        .flat_map(|chain_id| {
            Kind::ALL
                .into_iter()
                .map(move |kind| (IdentTopic::new(topic_name(*chain_id, kind)).hash(), topic_params(kind)))
        })
        .collect();
    PeerScoreParams {
        topics,
        topic_score_cap: TOPIC_SCORE_CAP,
        // P5 carries the application's penalties (crate::Penalty) in score units as they
        // are, as Lighthouse's weight of 1.
        app_specific_weight: 1.0,
        // P6: Lighthouse's "up to 8 peers per IP", each extra one costing the topic cap
        // squared. Loopback is exempt: peers on 127.0.0.1 are the operator's own processes
        // (devnet, tests), and 20 of them would otherwise sit below the gossip threshold.
        ip_colocation_factor_weight: -TOPIC_SCORE_CAP,
        ip_colocation_factor_threshold: 8.0,
        ip_colocation_factor_whitelist: HashSet::from([
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]),
        // P7 (GRAFT during backoff, broken IHAVE promises): Lighthouse's derivation.
        behaviour_penalty_weight: GOSSIP_THRESHOLD / target.powi(2),
        behaviour_penalty_threshold,
        behaviour_penalty_decay,
        decay_interval: DECAY_INTERVAL,
        decay_to_zero: DECAY_TO_ZERO,
        retain_score,
        // Slow peers (messages to them dropped from a full or expired send queue) are not
        // scored. Lighthouse's -10 a message assumes 12 s slots and few messages; at our
        // rates a crash's burst on a busy host (where the queue is often slow because *we*
        // are starved of CPU) dropped thousands of messages to honest nodes, got them banned
        // for five minutes and split the committee. Even libp2p's -0.2 turns a busy peer's
        // score negative, and gossipsub prunes negative peers from the mesh: a crash left
        // meshes empty and messages crawling by IHAVE/IWANT. Slowness is not an attack:
        // floods are the budgets' business, and gossipsub still stops queueing for a slow peer.
        slow_peer_weight: 0.0,
        slow_peer_threshold: 0.0,
        slow_peer_decay: 0.2,
    }
}

fn topic_params(kind: Kind) -> TopicScoreParams {
    let topic_weight = topic_weight(kind);
    // P1: Lighthouse counts mesh time in slots up to an hour; we count blocks up to an hour.
    let time_in_mesh_quantum = BLOCK;
    let time_in_mesh_cap = 3600.0 / time_in_mesh_quantum.as_secs_f64();
    // P2: the cap is what a peer delivering its fair share (2/D of the traffic first)
    // converges to, so steady honest relaying earns the full 40.
    let first_message_deliveries_decay = decay_over(first_delivery_decay_blocks(kind));
    let first_message_deliveries_cap =
        decay_convergence(first_message_deliveries_decay, 2.0 * expected_rate_per_second(kind) / MESH_N as f64);
    TopicScoreParams {
        topic_weight,
        time_in_mesh_weight: MAX_IN_MESH_SCORE / time_in_mesh_cap,
        time_in_mesh_quantum,
        time_in_mesh_cap,
        first_message_deliveries_weight: MAX_FIRST_MESSAGE_DELIVERIES_SCORE / first_message_deliveries_cap,
        first_message_deliveries_decay,
        first_message_deliveries_cap,
        // P3/P3b off. They punish mesh peers that deliver less than an expected rate,
        // which only works on topics with a steady rate (Lighthouse enables them for blocks
        // and attestations, and disables them for exits and slashings). Backstop's topics
        // are silent while every account is healthy and burst in a crash, and an auction is
        // over in 1–2 s, far shorter than any activation window: P3 would disconnect honest
        // peers in quiet hours and could not react in time during a burst.
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 0.0,
        mesh_message_deliveries_cap: 0.0,
        mesh_message_deliveries_threshold: 0.0,
        mesh_message_deliveries_window: Duration::ZERO,
        mesh_message_deliveries_activation: Duration::ZERO,
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: 0.0,
        // P4: Lighthouse's weight, -max_positive / topic_weight, so each invalid message
        // (squared) wipes out everything an honest peer can earn. 13 rejects in one topic
        // cross the graylist: 13² × 102.5 = 17 322 > 16 000 + the 51.25 cap.
        invalid_message_deliveries_weight: -MAX_POSITIVE_SCORE / topic_weight,
        invalid_message_deliveries_decay: decay_over(INVALID_MESSAGE_DECAY_BLOCKS),
    }
}

/// Rejects in one topic that take a fresh peer below [`GRAYLIST_THRESHOLD`], ignoring
/// decay: the smallest n with n² · MAX_POSITIVE_SCORE > |graylist| + cap.
pub fn rejects_to_graylist() -> u32 {
    let needed = (-GRAYLIST_THRESHOLD + TOPIC_SCORE_CAP) / MAX_POSITIVE_SCORE;
    needed.sqrt().floor() as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_pass_gossipsub_validation() {
        let params = peer_score_params(&[1, 31337], Duration::from_secs(300));
        assert_eq!(params.topics.len(), 10);
        params.validate().expect("score params valid");
        thresholds().validate().expect("thresholds valid");
    }

    /// Messages dropped to an honest but slow (or starved) peer never lower its score: a
    /// negative score would prune it from every mesh, and a big one would ban it.
    #[test]
    fn a_slow_peer_keeps_its_score() {
        let params = peer_score_params(&[31337], Duration::from_secs(300));
        let drops_per_decay_interval = 5_000.0;
        let steady_penalty = drops_per_decay_interval / (1.0 - params.slow_peer_decay);
        let score = (steady_penalty - params.slow_peer_threshold) * params.slow_peer_weight;
        assert_eq!(score, 0.0);
    }

    /// A burst of broken IWANT promises from a starved honest host costs nothing; a peer
    /// that breaks them at rate reaches the gossip threshold, then the graylist.
    #[test]
    fn broken_promises_are_tolerated_in_a_burst_and_punished_at_rate() {
        let params = peer_score_params(&[31337], Duration::from_secs(300));
        let penalty = |count: f64| {
            let excess = (count - params.behaviour_penalty_threshold).max(0.0);
            excess * excess * params.behaviour_penalty_weight
        };
        assert_eq!(penalty(60.0), 0.0, "a burst of 60 is load, not an attack");
        assert!(penalty(600.0) > GRAYLIST_THRESHOLD, "a bad burst stays connected");
        let sustained = decay_convergence(params.behaviour_penalty_decay, BEHAVIOUR_VIOLATIONS_PER_BLOCK_TARGET);
        assert!((penalty(sustained) - GOSSIP_THRESHOLD).abs() < 1e-6, "{}", penalty(sustained));
        let flooding = decay_convergence(params.behaviour_penalty_decay, 3.0 * BEHAVIOUR_VIOLATIONS_PER_BLOCK_TARGET);
        assert!(penalty(flooding) < GRAYLIST_THRESHOLD, "{}", penalty(flooding));
    }

    #[test]
    fn thirteen_rejects_graylist_a_peer() {
        assert_eq!(rejects_to_graylist(), 13);
        let weight = topic_params(Kind::Intent).invalid_message_deliveries_weight * topic_weight(Kind::Intent);
        assert!(12.0f64.powi(2) * weight + TOPIC_SCORE_CAP > GRAYLIST_THRESHOLD);
        assert!(13.0f64.powi(2) * weight + TOPIC_SCORE_CAP < GRAYLIST_THRESHOLD);
    }

    #[test]
    fn invalid_messages_are_remembered_for_about_half_an_hour() {
        let decay = topic_params(Kind::Vote).invalid_message_deliveries_decay;
        let after = decay.powi(1600);
        assert!((after - DECAY_TO_ZERO).abs() < 1e-9, "{after}");
    }
}
