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
//! Scoring ([`scoring`]) follows Lighthouse's parameters rescaled to 1 s blocks; budgets
//! are in [`PeerLimits`]; penalties in [`Penalty`].

mod budget;
mod config;
mod handle;
mod observe;
mod reputation;
pub mod scoring;
mod stats;
mod swarm;

use backstop_protocol::Kind;
use tokio::sync::mpsc;

pub use budget::{Budget, PeerLimits};
pub use config::GossipConfig;
pub use handle::{GossipHandle, Inbound, NetError, PublishError, Verdict};
pub use libp2p::gossipsub::MessageId;
pub use libp2p::{Multiaddr, PeerId};
pub use reputation::{Penalty, APP_SCORE_HALF_LIFE};
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
