//! Test peers: a transport plus a small application that judges every inbound message
//! and records what it received, and a `wait_for` helper instead of fixed sleeps.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backstop_net::{GossipConfig, GossipHandle, Inbound, Multiaddr, PeerId, PeerLimits, PublishError, Verdict};
use backstop_protocol::Kind;
use libp2p::multiaddr::Protocol;
use tokio::sync::mpsc;

pub const CHAIN_ID: u64 = 31337;
/// The devnet heartbeat.
pub const HEARTBEAT: Duration = Duration::from_millis(200);

/// Polls `condition` until it holds, failing the test after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub type Judge = Arc<dyn Fn(&Inbound) -> Verdict + Send + Sync>;

/// Every peer in a test judges alike, as every Backstop peer runs the same rules.
pub fn accept_all() -> Judge {
    Arc::new(|_| Verdict::Accept)
}

#[derive(Debug, Clone)]
pub struct Received {
    pub source: PeerId,
    pub kind: Kind,
    pub data: Vec<u8>,
}

pub struct PeerBuilder {
    config: GossipConfig,
    judge: Option<Judge>,
}

impl PeerBuilder {
    pub fn new() -> Self {
        let secret_key: [u8; 32] = rand::random();
        Self {
            config: GossipConfig { chains: vec![CHAIN_ID], heartbeat: HEARTBEAT, ..GossipConfig::new(secret_key) },
            judge: Some(accept_all()),
        }
    }

    pub fn bootstrap(mut self, peer: &Peer) -> Self {
        self.config.bootstrap.push(peer.address());
        self
    }

    pub fn judge(mut self, judge: Judge) -> Self {
        self.judge = Some(judge);
        self
    }

    /// The application never reads its inbound queue.
    pub fn stalled_application(mut self) -> Self {
        self.judge = None;
        self
    }

    pub fn inbound_capacity(mut self, capacity: usize) -> Self {
        self.config.inbound_capacity = capacity;
        self
    }

    pub fn ban_duration(mut self, duration: Duration) -> Self {
        self.config.ban_duration = duration;
        self
    }

    #[allow(dead_code)]
    pub fn limits(mut self, limits: PeerLimits) -> Self {
        self.config.limits = limits;
        self
    }

    pub async fn start(self) -> Peer {
        let (handle, inbound) = backstop_net::spawn(self.config).await.expect("transport starts");
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut held_inbound = None;
        match self.judge {
            Some(judge) => {
                tokio::spawn(judge_inbound(handle.clone(), inbound, judge, received.clone()));
            }
            None => held_inbound = Some(inbound),
        }
        Peer { handle, received, _held_inbound: held_inbound }
    }
}

async fn judge_inbound(
    handle: GossipHandle,
    mut inbound: mpsc::Receiver<Inbound>,
    judge: Judge,
    received: Arc<Mutex<Vec<Received>>>,
) {
    while let Some(message) = inbound.recv().await {
        let verdict = judge(&message);
        if verdict == Verdict::Accept {
            let record = Received { source: message.source, kind: message.kind, data: message.data.clone() };
            received.lock().expect("received lock").push(record);
        }
        handle.report(&message, verdict).await;
    }
}

pub struct Peer {
    pub handle: GossipHandle,
    received: Arc<Mutex<Vec<Received>>>,
    /// Kept open (and never read) for a stalled application.
    _held_inbound: Option<mpsc::Receiver<Inbound>>,
}

impl Peer {
    pub fn id(&self) -> PeerId {
        self.handle.peer_id()
    }

    /// The dialable address, `/ip4/127.0.0.1/tcp/<port>/p2p/<peer id>`.
    pub fn address(&self) -> Multiaddr {
        self.handle.listen_addrs()[0].clone().with(Protocol::P2p(self.id()))
    }

    /// Messages the application accepted.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received lock").clone()
    }

    pub fn has_received(&self, data: &[u8]) -> bool {
        self.received.lock().expect("received lock").iter().any(|message| message.data == data)
    }

    pub async fn is_connected_to(&self, peer: PeerId) -> bool {
        self.handle.connected_peers().await.contains(&peer)
    }

    /// Publishes, retrying while no peer has subscribed to the topic yet.
    pub async fn publish_eventually(&self, kind: Kind, data: Vec<u8>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.handle.publish(CHAIN_ID, kind, data.clone()).await {
                Ok(()) => return,
                Err(PublishError::NoPeers { .. }) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(error) => panic!("publish failed: {error}"),
            }
        }
    }
}

/// Waits until every pair of `peers` is connected.
pub async fn wait_connected(peers: &[(&Peer, &Peer)]) {
    for (left, right) in peers {
        wait_for("peers to connect", Duration::from_secs(10), || left.is_connected_to(right.id())).await;
    }
}
