//! The gossip transport shared by nodes and solvers (feature `net`).
//!
//! libp2p over TCP + noise + yamux with gossipsub. Messages carry their own ed25519
//! envelope signature, so gossipsub runs anonymous (no libp2p signing), with
//! content-addressed message ids and manual validation: the application reports
//! Accept / Ignore / Reject for every inbound message, and only accepted ones are
//! forwarded. The swarm lives in one task; the application talks to it through a
//! [`GossipHandle`] and an inbound channel.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::swarm::SwarmEvent;
use libp2p::{identity, noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};

use crate::envelope::MAX_ENVELOPE_LEN;
use crate::message::Kind;
use crate::topic::{parse_topic, topic_name};

/// How often unreachable bootstrap peers are dialled again.
const REDIAL_INTERVAL: Duration = Duration::from_secs(2);
/// Inbound messages buffered before the swarm task applies back-pressure.
const INBOUND_BUFFER: usize = 4096;

/// What the transport needs to start.
#[derive(Debug, Clone)]
pub struct GossipConfig {
    /// The peer's ed25519 secret key: its libp2p identity and its envelope key.
    pub secret_key: [u8; 32],
    /// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial, and to keep dialling while they are unreachable.
    pub bootstrap: Vec<Multiaddr>,
    /// Chains whose topics to join.
    pub chains: Vec<u64>,
    /// Gossipsub heartbeat; short on devnets where auctions last about a second.
    pub heartbeat: Duration,
}

/// A message received from the network, waiting for the application's verdict.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub id: MessageId,
    pub source: PeerId,
    pub chain_id: u64,
    pub kind: Kind,
    pub data: Vec<u8>,
}

pub use crate::rules::Verdict;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("invalid listen address {address}: {reason}")]
    Listen { address: Multiaddr, reason: String },
    #[error("could not build the libp2p transport: {0}")]
    Transport(String),
    #[error("the gossip task has stopped")]
    Stopped,
}

enum Command {
    Publish { chain_id: u64, kind: Kind, data: Vec<u8>, reply: oneshot::Sender<Result<(), String>> },
    Report { id: MessageId, source: PeerId, verdict: Verdict },
    Peers { reply: oneshot::Sender<usize> },
}

/// Cheap, cloneable handle to the swarm task.
#[derive(Clone, Debug)]
pub struct GossipHandle {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    listen_addrs: Vec<Multiaddr>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl GossipHandle {
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the swarm actually listens on (port 0 resolved).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// Publishes an envelope on the chain's topic for `kind`. Fails when no peer
    /// subscribes to the topic yet, which callers may retry.
    pub async fn publish(&self, chain_id: u64, kind: Kind, data: Vec<u8>) -> Result<(), String> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Publish { chain_id, kind, data, reply })
            .await
            .map_err(|_| NetError::Stopped.to_string())?;
        response.await.map_err(|_| NetError::Stopped.to_string())?
    }

    /// Reports the verdict on an inbound message (forward it or not, penalise or not).
    pub async fn report(&self, inbound: &Inbound, verdict: Verdict) {
        let _ = self.commands.send(Command::Report { id: inbound.id.clone(), source: inbound.source, verdict }).await;
    }

    /// Number of connected peers.
    pub async fn peer_count(&self) -> usize {
        let (reply, response) = oneshot::channel();
        if self.commands.send(Command::Peers { reply }).await.is_err() {
            return 0;
        }
        response.await.unwrap_or(0)
    }
}

#[derive(libp2p::swarm::NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
}

fn gossipsub_config(heartbeat: Duration) -> Result<gossipsub::Config, NetError> {
    gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        // Content-addressed ids: the same envelope relayed by two peers is one message.
        .message_id_fn(|message| MessageId::from(alloy::primitives::keccak256(&message.data).to_vec()))
        .validate_messages()
        .max_transmit_size(MAX_ENVELOPE_LEN + 512)
        .heartbeat_interval(heartbeat)
        .build()
        .map_err(|error| NetError::Transport(error.to_string()))
}

/// Starts the swarm task. Returns once it listens, with the handle and the inbound stream.
pub async fn spawn(config: GossipConfig) -> Result<(GossipHandle, mpsc::Receiver<Inbound>), NetError> {
    let keypair = identity::Keypair::ed25519_from_bytes(config.secret_key)
        .map_err(|error| NetError::Transport(error.to_string()))?;
    let gossip_config = gossipsub_config(config.heartbeat)?;
    let mut swarm: Swarm<Behaviour> = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|error| NetError::Transport(error.to_string()))?
        .with_behaviour(|_| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
            Ok(Behaviour { gossipsub: gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)? })
        })
        .map_err(|error| NetError::Transport(error.to_string()))?
        .with_swarm_config(|swarm_config| swarm_config.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();

    for chain_id in &config.chains {
        for kind in Kind::ALL {
            swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&IdentTopic::new(topic_name(*chain_id, kind)))
                .map_err(|error| NetError::Transport(error.to_string()))?;
        }
    }
    for address in &config.listen {
        swarm
            .listen_on(address.clone())
            .map_err(|error| NetError::Listen { address: address.clone(), reason: error.to_string() })?;
    }
    // Wait for every listener to report its bound address so callers can advertise it.
    let mut listen_addrs = Vec::new();
    while listen_addrs.len() < config.listen.len() {
        match swarm.select_next_some().await {
            SwarmEvent::NewListenAddr { address, .. } => listen_addrs.push(address),
            SwarmEvent::ListenerError { error, .. } | SwarmEvent::ListenerClosed { reason: Err(error), .. } => {
                return Err(NetError::Transport(error.to_string()))
            }
            _ => {}
        }
    }

    let (commands_tx, commands_rx) = mpsc::channel(1024);
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_BUFFER);
    let handle = GossipHandle { commands: commands_tx, peer_id: *swarm.local_peer_id(), listen_addrs };
    tokio::spawn(run_swarm(swarm, config.bootstrap, commands_rx, inbound_tx));
    Ok((handle, inbound_rx))
}

async fn run_swarm(
    mut swarm: Swarm<Behaviour>,
    bootstrap: Vec<Multiaddr>,
    mut commands: mpsc::Receiver<Command>,
    inbound: mpsc::Sender<Inbound>,
) {
    // Bootstrap address -> connected peer, so only unreachable ones are redialled.
    let mut bootstrap_peers: HashMap<Multiaddr, Option<PeerId>> =
        bootstrap.into_iter().map(|addr| (addr, None)).collect();
    let mut redial = tokio::time::interval(REDIAL_INTERVAL);
    loop {
        tokio::select! {
            _ = redial.tick() => {
                for (address, peer) in &bootstrap_peers {
                    if peer.is_none() {
                        if let Err(error) = swarm.dial(address.clone()) {
                            tracing::debug!(%address, %error, "dial failed");
                        }
                    }
                }
            }
            command = commands.recv() => {
                let Some(command) = command else { return };
                match command {
                    Command::Publish { chain_id, kind, data, reply } => {
                        let result = swarm
                            .behaviour_mut()
                            .gossipsub
                            .publish(IdentTopic::new(topic_name(chain_id, kind)), data)
                            .map(|_| ())
                            .map_err(|error| error.to_string());
                        let _ = reply.send(result);
                    }
                    Command::Report { id, source, verdict } => {
                        let acceptance = match verdict {
                            Verdict::Accept => MessageAcceptance::Accept,
                            Verdict::Ignore => MessageAcceptance::Ignore,
                            Verdict::Reject => MessageAcceptance::Reject,
                        };
                        swarm.behaviour_mut().gossipsub.report_message_validation_result(&id, &source, acceptance);
                    }
                    Command::Peers { reply } => {
                        let _ = reply.send(swarm.connected_peers().count());
                    }
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { propagation_source, message_id, message })) => {
                    let Some((chain_id, kind)) = parse_topic(message.topic.as_str()) else {
                        swarm.behaviour_mut().gossipsub.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Reject);
                        continue;
                    };
                    let item = Inbound { id: message_id, source: propagation_source, chain_id, kind, data: message.data };
                    if inbound.send(item).await.is_err() {
                        return;
                    }
                }
                SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                    tracing::debug!(peer = %peer_id, "peer connected");
                    if let Some(slot) = bootstrap_peers.get_mut(endpoint.get_remote_address()) {
                        *slot = Some(peer_id);
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    tracing::debug!(peer = %peer_id, "peer disconnected");
                    for slot in bootstrap_peers.values_mut() {
                        if *slot == Some(peer_id) {
                            *slot = None;
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
