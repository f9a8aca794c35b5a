//! The application's side of the transport: a cloneable handle that sends commands to the
//! swarm task, and the inbound messages it hands back for a verdict.

use std::sync::Arc;

use backstop_protocol::{Kind, Penalty, Verdict};
use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::stats::{Counters, NetStats};

/// A message received from the network, waiting for the application's verdict.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub id: MessageId,
    /// The peer that delivered it (not necessarily its author: that is the envelope signer).
    pub source: PeerId,
    pub chain_id: u64,
    pub kind: Kind,
    pub data: Vec<u8>,
    /// When the transport handed it to the application's queue: how long it waited
    /// there is `received_at.elapsed()` when it is handled.
    pub received_at: std::time::Instant,
}

/// Why the transport could not start or has stopped.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("invalid listen address {address}: {reason}")]
    Listen { address: Multiaddr, reason: String },
    #[error("invalid gossip configuration: {0}")]
    Config(String),
    #[error("could not build the libp2p transport: {0}")]
    Transport(String),
    #[error("the gossip task has stopped (its inbound receiver was dropped, or it failed)")]
    Stopped,
}

/// Why a publish failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("no peer subscribes to {topic} yet: retry once peers have joined")]
    NoPeers { topic: String },
    #[error("this exact message was already published (message ids are content hashes)")]
    Duplicate,
    #[error("message of {len} bytes exceeds the {max}-byte envelope limit")]
    TooLarge { len: usize, max: usize },
    #[error("the send queues of all {peers} peers are full: the network is congested, retry shortly")]
    QueuesFull { peers: usize },
    #[error("gossipsub refused the message: {0}")]
    Refused(String),
    #[error("the gossip task has stopped")]
    Stopped,
}

pub(crate) enum Command {
    Publish { chain_id: u64, kind: Kind, data: Vec<u8>, reply: oneshot::Sender<Result<(), PublishError>> },
    Report { id: MessageId, source: PeerId, kind: Kind, verdict: Verdict },
    Penalize { peer: PeerId, penalty: Penalty },
    ConnectedPeers { reply: oneshot::Sender<Vec<PeerId>> },
    PeerScore { peer: PeerId, reply: oneshot::Sender<Option<f64>> },
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Payloads and reply channels say nothing useful in a log.
        let name = match self {
            Command::Publish { .. } => "Publish",
            Command::Report { .. } => "Report",
            Command::Penalize { .. } => "Penalize",
            Command::ConnectedPeers { .. } => "ConnectedPeers",
            Command::PeerScore { .. } => "PeerScore",
        };
        f.write_str(name)
    }
}

/// Cheap, cloneable handle to the swarm task. The task stops when every handle is dropped
/// or the inbound receiver is; the receiver yielding `None` is how the application learns
/// the task has stopped.
#[derive(Clone, Debug)]
pub struct GossipHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) peer_id: PeerId,
    pub(crate) listen_addrs: Vec<Multiaddr>,
    pub(crate) counters: Arc<Counters>,
}

impl GossipHandle {
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the swarm actually listens on (port 0 resolved).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// Publishes an envelope on the chain's topic for `kind`. Fails with
    /// [`PublishError::NoPeers`] while no peer subscribes to the topic, which callers may
    /// retry.
    pub async fn publish(&self, chain_id: u64, kind: Kind, data: Vec<u8>) -> Result<(), PublishError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Publish { chain_id, kind, data, reply })
            .await
            .map_err(|_| PublishError::Stopped)?;
        response.await.map_err(|_| PublishError::Stopped)?
    }

    /// Reports the verdict on an inbound message: forward it (Accept), drop it (Ignore),
    /// or drop it and count it against the delivering peer (Reject, gossipsub P4). Must
    /// come within about 3 s of receipt, while gossipsub still holds the message.
    pub async fn report(&self, inbound: &Inbound, verdict: Verdict) {
        let command = Command::Report { id: inbound.id.clone(), source: inbound.source, kind: inbound.kind, verdict };
        // A stopped task has nothing left to forward or penalise.
        let _ = self.commands.send(command).await;
    }

    /// Holds an offence against `peer` (see [`crate::reputation::tolerance`] for the
    /// scale; `Penalty::None` is a no-op, so a rule's penalty can be passed as it is).
    /// Penalties accumulate and decay over time, and a peer whose score falls below the
    /// graylist threshold is disconnected and banned; a `Fatal` one is, at once.
    pub async fn penalize(&self, peer: PeerId, penalty: Penalty) {
        let _ = self.commands.send(Command::Penalize { peer, penalty }).await;
    }

    /// Number of connected peers.
    pub async fn peer_count(&self) -> usize {
        self.connected_peers().await.len()
    }

    /// The peers connected right now.
    pub async fn connected_peers(&self) -> Vec<PeerId> {
        let (reply, response) = oneshot::channel();
        if self.commands.send(Command::ConnectedPeers { reply }).await.is_err() {
            return Vec::new();
        }
        response.await.unwrap_or_default()
    }

    /// The peer's gossipsub score, application penalties included, or `None` when the task
    /// has stopped. Disconnected peers keep their score while gossipsub retains it.
    pub async fn peer_score(&self, peer: PeerId) -> Option<f64> {
        let (reply, response) = oneshot::channel();
        self.commands.send(Command::PeerScore { peer, reply }).await.ok()?;
        response.await.ok().flatten()
    }

    /// A snapshot of the transport's counters; cheap, and available after the task stopped.
    pub fn stats(&self) -> NetStats {
        self.counters.snapshot()
    }
}
