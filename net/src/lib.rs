//! The gossip transport shared by Backstop nodes and solvers.
//!
//! libp2p over TCP + noise + yamux, running gossipsub with peer scoring, identify, ping and
//! Kademlia discovery (plus mDNS with the `mdns` feature). The application receives each
//! message once, after per-peer budgets, and reports Accept / Ignore / Reject; only
//! accepted messages are forwarded. It can also [`GossipHandle::penalize`] a peer. Peers
//! whose score falls below the graylist threshold are disconnected and banned.
//!
//! # Wire-visible settings (for interoperating implementations)
//!
//! | setting | value |
//! |---|---|
//! | transport | TCP, noise XX (ed25519 identity keys), yamux |
//! | peer identity | the ed25519 key that also signs envelopes; `PeerId` from it as libp2p defines |
//! | gossipsub | v1.1/v1.2 protocol ids as rust-libp2p announces them (`/meshsub/1.2.0`, `/meshsub/1.1.0`, `/meshsub/1.0.0`; no floodsub) |
//! | topics | `/backstop/1/<chain_id>/{intent,commit,reveal,vote,outcome}`, plain strings (`IdentTopic`, no hashing) |
//! | message data | the envelope bytes as they are (no compression), at most `MAX_ENVELOPE_LEN`; frames up to `MAX_ENVELOPE_LEN + 512` |
//! | message id | `keccak256(data)`, 32 bytes ([`message_id`]) |
//! | signing | validation mode `Anonymous`: no `from`, `seqno`, `signature` or `key` fields; a message carrying them is rejected |
//! | validation | manual: a message is forwarded only after the receiver's application accepted it |
//! | mesh | D = 8, D_low = 6, D_high = 12, D_lazy = 6 (the consensus-specs values); heartbeat per deployment (200 ms on the devnet) |
//! | identify | `/ipfs/id/1.0.0` and `/ipfs/id/push/1.0.0`, `protocol_version` = `/backstop/1`, agent `backstop-net/<version>` |
//! | ping | `/ipfs/ping/1.0.0` |
//! | Kademlia | protocol `/backstop/kad/1.0.0` (not the IPFS DHT), server mode, peer discovery only: stored records are refused |
//!
//! # Peer policy (local, not wire-visible)
//!
//! - Scoring ([`scoring`]) uses Lighthouse's thresholds and parameter derivations with
//!   time constants rescaled from 12 s slots to 1 s blocks. `Verdict::Reject` counts
//!   against the delivering peer (P4); [`GossipHandle::penalize`] moves its
//!   application score (P5, see [`reputation::tolerance`]), which decays with
//!   [`APP_SCORE_HALF_LIFE`].
//! - Each peer has a budget per message kind ([`PeerLimits`]). Over budget, messages are
//!   dropped before the application (reported Ignore, not forwarded); beyond twice the
//!   budget the peer is also penalised, so a sustained flood graylists it in ~2 s.
//! - A full inbound queue drops (reported Ignore, counted) instead of stalling the swarm.
//! - A peer whose score falls below [`scoring::GRAYLIST_THRESHOLD`] is ignored by
//!   gossipsub, then disconnected and refused for [`GossipConfig::ban_duration`].
//!   Bootstrap peers get no exemption: the operator trusts their *address* to find the
//!   network, not their behaviour, and a flooding or forging bootstrap node is the most
//!   damaging one since everyone connects to it. They are not redialled while banned, and
//!   are redialled as usual once the ban ends; by then Kademlia has usually found other
//!   peers, so losing a bootstrap node does not isolate a peer.
//! - [`NetStats`] ([`GossipHandle::stats`]) counts every verdict and drop per kind.

mod budget;
mod config;
mod handle;
mod observe;
pub mod reputation;
pub mod scoring;
mod stats;
mod swarm;

use backstop_protocol::Kind;
use tokio::sync::mpsc;

/// The verdict and penalty tiers are the protocol's, so a rule's outcome
/// (`backstop_protocol::rules`) goes to the transport as it is.
pub use backstop_protocol::{Penalty, Verdict};
pub use budget::{Budget, PeerLimits};
pub use config::GossipConfig;
pub use handle::{GossipHandle, Inbound, NetError, PublishError};
pub use libp2p::gossipsub::MessageId;
pub use libp2p::{Multiaddr, PeerId};
pub use reputation::APP_SCORE_HALF_LIFE;
pub use stats::{KindStats, NetStats};
pub use swarm::{message_id, IDENTIFY_PROTOCOL_VERSION, KAD_PROTOCOL};

/// Starts the transport: listens, subscribes to the topics of `config.chains`, dials the
/// bootstrap peers, and returns once every listen address is bound, with the handle and
/// the stream of inbound messages awaiting a verdict.
pub async fn spawn(config: GossipConfig) -> Result<(GossipHandle, mpsc::Receiver<Inbound>), NetError> {
    swarm::spawn(config).await
}

/// Index of a kind in per-kind arrays.
pub(crate) fn kind_slot(kind: Kind) -> usize {
    match kind {
        Kind::Intent => 0,
        Kind::Commit => 1,
        Kind::Reveal => 2,
        Kind::Vote => 3,
        Kind::Outcome => 4,
    }
}
