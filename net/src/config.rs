//! What the transport needs to start.

use std::time::Duration;

use libp2p::Multiaddr;

use crate::budget::PeerLimits;

/// What the transport needs to start. Build it with [`GossipConfig::new`] and override
/// fields with struct-update syntax, so new settings keep their defaults:
///
/// ```
/// # use backstop_net::GossipConfig;
/// # use std::time::Duration;
/// let config = GossipConfig {
///     chains: vec![31337],
///     heartbeat: Duration::from_millis(200),
///     ..GossipConfig::new([7; 32])
/// };
/// assert_eq!(config.listen.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct GossipConfig {
    /// The peer's ed25519 secret key: its libp2p identity and its envelope key.
    pub secret_key: [u8; 32],
    /// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial, and to keep dialling while they are unreachable (except while banned).
    /// Kademlia learns the rest of the network from them.
    pub bootstrap: Vec<Multiaddr>,
    /// Chains whose topics to join.
    pub chains: Vec<u64>,
    /// Gossipsub heartbeat; short on devnets where auctions last about a second.
    pub heartbeat: Duration,
    /// Per-peer message budgets for one chain (multiplied by the chains served), checked
    /// before a message reaches the application.
    pub limits: PeerLimits,
    /// Inbound messages buffered for the application. When full, further messages are
    /// dropped (reported Ignore, counted) rather than stalling the swarm.
    pub inbound_capacity: usize,
    /// How long a peer whose score fell below the graylist threshold is refused, bootstrap
    /// peers included. Gossipsub keeps a disconnected peer's counters (without decaying
    /// them) for the same time, so a banned peer returns with a clean gossipsub slate but
    /// with its application penalties, decayed, still on record.
    pub ban_duration: Duration,
    /// Connections kept open at most (inbound and outbound together).
    pub max_connections: u32,
}

impl GossipConfig {
    /// Defaults around `secret_key`: listen on a free loopback port, no bootstrap peers,
    /// no chains, a 1 s heartbeat (gossipsub's default), default budgets.
    pub fn new(secret_key: [u8; 32]) -> Self {
        Self {
            secret_key,
            listen: vec![Multiaddr::from(std::net::Ipv4Addr::LOCALHOST).with(libp2p::multiaddr::Protocol::Tcp(0))],
            bootstrap: Vec::new(),
            chains: Vec::new(),
            heartbeat: Duration::from_secs(1),
            limits: PeerLimits::default(),
            inbound_capacity: 4096,
            // 300 one-second auctions: flooding costs the attacker real participation,
            // while an operator who fixes a misbehaving bootstrap node is back in minutes.
            ban_duration: Duration::from_secs(300),
            max_connections: 128,
        }
    }
}
