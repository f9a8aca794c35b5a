//! The swarm task: one tokio task owns the libp2p swarm and everything that judges peers
//! (budgets, the penalty ledger, bans). The application reaches it only through
//! [`GossipHandle`] commands and the inbound channel, and the task never waits on the
//! application: a full inbound queue drops, it does not block.

use std::sync::Arc;
use std::time::Duration;

use backstop_protocol::envelope::MAX_ENVELOPE_LEN;
use backstop_protocol::topic::{parse_topic, topic_name};
use backstop_protocol::{Kind, Penalty, Verdict};
use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{
    allow_block_list, connection_limits, identify, identity, kad, noise, ping, tcp, yamux, Multiaddr, PeerId,
    StreamProtocol, Swarm,
};
use std::time::Instant;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::MissedTickBehavior;

use crate::budget::{Admission, Budgets, OVER_BUDGET_PENALTY};
use crate::config::GossipConfig;
use crate::handle::{Command, GossipHandle, Inbound, NetError, PublishError};
use crate::observe;
use crate::reputation::{self, Bans, Ledger};
use crate::scoring::{self, GRAYLIST_THRESHOLD, PUBLISH_THRESHOLD};
use crate::stats::{Count, Counters};

/// Kademlia protocol id. Our own, so Backstop peers never join (or answer) the public IPFS DHT.
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/backstop/kad/1.0.0");
/// Identify `protocol_version`: the Backstop wire version peers announce.
pub const IDENTIFY_PROTOCOL_VERSION: &str = "/backstop/1";
/// How often unreachable bootstrap peers are dialled again.
const REDIAL_INTERVAL: Duration = Duration::from_secs(2);
/// Kademlia's random-walk refresh. Kademlia also refreshes whenever a new peer enters the
/// routing table, so this only matters once the network is quiet; 10 s keeps a restarted
/// devnet meshing within seconds without measurable query traffic.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(10);
/// How long the application has to report a verdict. Gossipsub can only forward or
/// penalise a message while its cache holds it (history_length heartbeats), so the cache
/// is sized to cover an auction (1–2 s) plus slack.
const VALIDATION_WINDOW: Duration = Duration::from_secs(3);
/// Commands queued from handles before `send` waits (back-pressure on the application,
/// never on the swarm).
const COMMAND_BUFFER: usize = 1024;
/// Connections one peer may hold: two, because simultaneous dials are legitimate.
const CONNECTIONS_PER_PEER: u32 = 2;

mod behaviour {
    // The derived event enum holds gossipsub's event inline; boxing it would allocate
    // once per message to save a few hundred bytes on the stack.
    #![allow(clippy::large_enum_variant)]

    use libp2p::{allow_block_list, connection_limits, gossipsub, identify, kad, ping};

    /// Behaviour fields, as a macro so the mDNS field exists only with the `mdns` feature
    /// (the derive does not support `#[cfg]` on fields).
    macro_rules! behaviour {
        ($($extra_field:ident: $extra_type:ty),*) => {
            #[derive(libp2p::swarm::NetworkBehaviour)]
            pub(crate) struct Behaviour {
                // First, so a banned peer's connection is refused before any other
                // behaviour sees it.
                pub(crate) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
                pub(crate) limits: connection_limits::Behaviour,
                pub(crate) gossipsub: gossipsub::Behaviour,
                pub(crate) identify: identify::Behaviour,
                pub(crate) ping: ping::Behaviour,
                pub(crate) kademlia: kad::Behaviour<kad::store::MemoryStore>,
                $(pub(crate) $extra_field: $extra_type,)*
            }
        };
    }
    #[cfg(feature = "mdns")]
    behaviour!(mdns: libp2p::mdns::tokio::Behaviour);
    #[cfg(not(feature = "mdns"))]
    behaviour!();
}
use behaviour::{Behaviour, BehaviourEvent};

/// The content-addressed message id: keccak256 of the message data (the envelope), so
/// the same envelope relayed by two peers, or published twice, is one message.
pub fn message_id(data: &[u8]) -> MessageId {
    MessageId::from(alloy::primitives::keccak256(data).to_vec())
}

fn gossipsub_config(heartbeat: Duration) -> Result<gossipsub::Config, NetError> {
    let heartbeats_per_window = VALIDATION_WINDOW.as_millis().div_ceil(heartbeat.as_millis().max(1));
    gossipsub::ConfigBuilder::default()
        // Envelopes carry their own ed25519 signatures: no libp2p signing, no author or
        // sequence number on the wire.
        .validation_mode(ValidationMode::Anonymous)
        .message_id_fn(|message| message_id(&message.data))
        // Anonymous and content-addressed, one of our own envelopes can come back to us
        // honestly (a peer that got it from a third peer first relays it to us). By
        // default gossipsub takes that for a forgery "from ourselves" and counts it as an
        // invalid message against the relayer: in a crash's burst honest nodes crossed
        // the graylist that way and were banned. It is only a duplicate.
        .allow_self_origin(true)
        .validate_messages()
        // The envelope plus the protobuf framing of one message and its topic.
        .max_transmit_size(MAX_ENVELOPE_LEN + 512)
        .heartbeat_interval(heartbeat)
        .history_length((heartbeats_per_window as usize).max(5))
        .mesh_n(scoring::MESH_N)
        .mesh_n_low(scoring::MESH_N_LOW)
        .mesh_n_high(scoring::MESH_N_HIGH)
        .gossip_lazy(scoring::GOSSIP_LAZY)
        .build()
        .map_err(|error| NetError::Transport(error.to_string()))
}

/// The address without its trailing `/p2p/<peer id>`, for matching dialled addresses.
fn without_peer_id(address: &Multiaddr) -> Multiaddr {
    address.iter().filter(|protocol| !matches!(protocol, Protocol::P2p(_))).collect()
}

fn peer_id_of(address: &Multiaddr) -> Option<PeerId> {
    address.iter().find_map(|protocol| match protocol {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// A bootstrap address and the peer last seen behind it.
#[derive(Debug)]
struct BootstrapPeer {
    dial: Multiaddr,
    address: Multiaddr,
    peer: Option<PeerId>,
}

/// Starts the swarm task. Returns once it listens, with the handle and the inbound stream.
pub(crate) async fn spawn(config: GossipConfig) -> Result<(GossipHandle, mpsc::Receiver<Inbound>), NetError> {
    if config.heartbeat.is_zero() {
        return Err(NetError::Config("heartbeat must be positive (the devnet uses 200 ms)".into()));
    }
    let keypair = identity::Keypair::ed25519_from_bytes(config.secret_key)
        .map_err(|error| NetError::Transport(error.to_string()))?;
    let local_peer_id = keypair.public().to_peer_id();
    let gossip_config = gossipsub_config(config.heartbeat)?;
    // Gossipsub keeps a disconnected peer's counters frozen; forgetting them just before a
    // ban ends lets the peer return with a clean slate rather than be re-banned at once
    // for offences it had no chance to decay. Its refresh runs once per decay interval.
    let retain_score = config.ban_duration.saturating_sub(scoring::DECAY_INTERVAL * 3);
    let score_params = scoring::peer_score_params(&config.chains, retain_score);

    let mut swarm: Swarm<Behaviour> = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|error| NetError::Transport(error.to_string()))?
        .with_behaviour(|keypair| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
            let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)?;
            gossipsub.with_peer_score(score_params, scoring::thresholds())?;

            let mut kad_config = kad::Config::new(KAD_PROTOCOL);
            kad_config.set_periodic_bootstrap_interval(Some(DISCOVERY_INTERVAL));
            // Discovery only: records peers try to store with us are never kept.
            kad_config.set_record_filtering(kad::StoreInserts::FilterBoth);
            let mut kademlia =
                kad::Behaviour::with_config(local_peer_id, kad::store::MemoryStore::new(local_peer_id), kad_config);
            // Answer queries even without a confirmed public address (loopback devnets,
            // private networks): every Backstop peer is a discovery server.
            kademlia.set_mode(Some(kad::Mode::Server));

            let identify = identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), keypair.public())
                    .with_agent_version(format!("backstop-net/{}", env!("CARGO_PKG_VERSION")))
                    .with_push_listen_addr_updates(true),
            );
            let limits = connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(config.max_connections))
                    .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER)),
            );
            Ok(Behaviour {
                blocked: allow_block_list::Behaviour::default(),
                limits,
                gossipsub,
                identify,
                ping: ping::Behaviour::default(),
                kademlia,
                #[cfg(feature = "mdns")]
                mdns: libp2p::mdns::tokio::Behaviour::new(libp2p::mdns::Config::default(), local_peer_id)?,
            })
        })
        .map_err(|error| NetError::Transport(error.to_string()))?
        // Connections are kept for the gossip mesh, not closed when a protocol idles.
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

    let bootstrap = config
        .bootstrap
        .iter()
        .map(|dial| {
            let peer = peer_id_of(dial);
            if let Some(peer) = peer {
                swarm.behaviour_mut().kademlia.add_address(&peer, without_peer_id(dial));
            }
            BootstrapPeer { dial: dial.clone(), address: without_peer_id(dial), peer }
        })
        .collect();

    let (commands_tx, commands_rx) = mpsc::channel(COMMAND_BUFFER);
    let (inbound_tx, inbound_rx) = mpsc::channel(config.inbound_capacity.max(1));
    let counters = Arc::new(Counters::default());
    let handle =
        GossipHandle { commands: commands_tx, peer_id: local_peer_id, listen_addrs, counters: counters.clone() };
    let transport = Transport {
        swarm,
        bootstrap,
        inbound: inbound_tx,
        counters,
        budgets: Budgets::new(config.limits.for_chains(config.chains.len())),
        ledger: Ledger::default(),
        bans: Bans::default(),
        low_score: std::collections::HashSet::new(),
        ban_duration: config.ban_duration,
        heartbeat: config.heartbeat,
    };
    tokio::spawn(transport.run(commands_rx));
    Ok((handle, inbound_rx))
}

struct Transport {
    swarm: Swarm<Behaviour>,
    bootstrap: Vec<BootstrapPeer>,
    inbound: mpsc::Sender<Inbound>,
    counters: Arc<Counters>,
    budgets: Budgets,
    ledger: Ledger,
    bans: Bans,
    /// Connected peers whose score is below the publish threshold: gossipsub neither
    /// publishes to them nor keeps them in a mesh, so they hear from us next to nothing
    /// while staying connected. Tracked so that crossing it, either way, is logged.
    low_score: std::collections::HashSet<PeerId>,
    ban_duration: Duration,
    heartbeat: Duration,
}

/// Whether the task goes on after an event.
enum Flow {
    Continue,
    Stop,
}

impl Transport {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut redial = tokio::time::interval(REDIAL_INTERVAL);
        // Scores are checked once per gossipsub heartbeat, when gossipsub itself acts on them.
        let mut maintenance = tokio::time::interval(self.heartbeat);
        maintenance.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let flow = tokio::select! {
                _ = redial.tick() => {
                    self.redial_bootstrap();
                    Flow::Continue
                }
                _ = maintenance.tick() => {
                    self.maintain(Instant::now());
                    Flow::Continue
                }
                command = commands.recv() => match command {
                    Some(command) => {
                        self.on_command(command);
                        Flow::Continue
                    }
                    None => Flow::Stop,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
            };
            if let Flow::Stop = flow {
                observe::transport_stopped(self.swarm.local_peer_id());
                return;
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { chain_id, kind, data, reply } => {
                let _ = reply.send(self.publish(chain_id, kind, data));
            }
            Command::Report { id, source, kind, verdict } => {
                let (acceptance, count) = match verdict {
                    Verdict::Accept => (MessageAcceptance::Accept, Count::Accepted),
                    Verdict::Ignore => (MessageAcceptance::Ignore, Count::Ignored),
                    Verdict::Reject => (MessageAcceptance::Reject, Count::Rejected),
                };
                self.counters.count(kind, count);
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&id, &source, acceptance);
                if verdict == Verdict::Reject {
                    // Act on the new score now rather than at the next heartbeat, so a
                    // peer sending a stream of forgeries is cut off mid-stream.
                    self.check_score(source, Instant::now());
                }
            }
            Command::Penalize { peer, penalty } => self.penalize(peer, penalty, Instant::now()),
            Command::ConnectedPeers { reply } => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::PeerScore { peer, reply } => {
                let _ = reply.send(self.swarm.behaviour().gossipsub.peer_score(&peer));
            }
        }
    }

    fn publish(&mut self, chain_id: u64, kind: Kind, data: Vec<u8>) -> Result<(), PublishError> {
        let len = data.len();
        if len > MAX_ENVELOPE_LEN {
            return Err(PublishError::TooLarge { len, max: MAX_ENVELOPE_LEN });
        }
        let topic = topic_name(chain_id, kind);
        match self.swarm.behaviour_mut().gossipsub.publish(IdentTopic::new(topic.clone()), data) {
            Ok(_) => {
                self.counters.count(kind, Count::Published);
                Ok(())
            }
            Err(gossipsub::PublishError::Duplicate) => Err(PublishError::Duplicate),
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Err(PublishError::NoPeers { topic }),
            Err(gossipsub::PublishError::MessageTooLarge) => Err(PublishError::TooLarge { len, max: MAX_ENVELOPE_LEN }),
            Err(gossipsub::PublishError::AllQueuesFull(peers)) => Err(PublishError::QueuesFull { peers }),
            Err(error) => Err(PublishError::Refused(error.to_string())),
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) -> Flow {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => return self.on_message(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                self.on_identified(peer_id, info);
            }
            #[cfg(feature = "mdns")]
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(libp2p::mdns::Event::Discovered(found))) => {
                let now = Instant::now();
                for (peer, address) in found {
                    if !self.bans.is_banned(&peer, now) && !self.swarm.is_connected(&peer) {
                        self.swarm.behaviour_mut().kademlia.add_address(&peer, address.clone());
                        if let Err(error) = self.swarm.dial(address.clone()) {
                            observe::dial_failed(&address, &error);
                        }
                    }
                }
            }
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                if num_established.get() == 1 {
                    observe::peer_connected(&peer_id);
                }
                if let ConnectedPoint::Dialer { address, .. } = &endpoint {
                    let address = without_peer_id(address);
                    for entry in self.bootstrap.iter_mut().filter(|entry| entry.address == address) {
                        entry.peer = Some(peer_id);
                    }
                }
                // Gossipsub only records application scores for peers it knows, so
                // penalties held against a returning peer are handed over again.
                let value = self.ledger.value(&peer_id, Instant::now());
                if value != 0.0 {
                    self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, value);
                }
                self.update_peer_gauges();
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                observe::peer_disconnected(&peer_id);
                self.budgets.forget(&peer_id);
                self.update_peer_gauges();
            }
            _ => {}
        }
        Flow::Continue
    }

    fn on_message(&mut self, source: PeerId, id: MessageId, message: gossipsub::Message) -> Flow {
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        // Unreachable while we subscribe only to Backstop topics; a peer cannot make us
        // deliver another topic, but if it ever happens the message is not ours to forward.
        let Some((chain_id, kind)) = parse_topic(message.topic.as_str()) else {
            gossipsub.report_message_validation_result(&id, &source, MessageAcceptance::Reject);
            return Flow::Continue;
        };
        self.counters.count(kind, Count::Received);
        let now = Instant::now();
        if let Admission::OverBudget { penalize } = self.budgets.admit(source, kind, now) {
            gossipsub.report_message_validation_result(&id, &source, MessageAcceptance::Ignore);
            self.counters.count(kind, Count::DroppedOverBudget);
            if penalize {
                observe::over_budget(&source, kind);
                self.penalize(source, OVER_BUDGET_PENALTY, now);
            }
            return Flow::Continue;
        }
        let item = Inbound { id, source, chain_id, kind, data: message.data, received_at: now };
        match self.inbound.try_send(item) {
            Ok(()) => Flow::Continue,
            Err(TrySendError::Full(item)) => {
                // The application is behind: better to lose this copy (peers that already
                // have it do not resend) than to stop every peer's traffic, our own
                // publishes included. Not the sender's fault, so no penalty.
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                    &item.id,
                    &item.source,
                    MessageAcceptance::Ignore,
                );
                self.counters.count(kind, Count::DroppedQueueFull);
                Flow::Continue
            }
            // The application dropped its receiver: nobody is left to judge messages.
            Err(TrySendError::Closed(_)) => Flow::Stop,
        }
    }

    /// Feeds a peer's announced listen addresses to Kademlia, which is how a peer that
    /// only knows a bootstrap node learns, and then dials, everyone else.
    fn on_identified(&mut self, peer: PeerId, info: identify::Info) {
        if !info.protocols.contains(&KAD_PROTOCOL) || self.bans.is_banned(&peer, Instant::now()) {
            return;
        }
        for address in info.listen_addrs {
            let unspecified = address.iter().any(|protocol| match protocol {
                Protocol::Ip4(ip) => ip.is_unspecified(),
                Protocol::Ip6(ip) => ip.is_unspecified(),
                _ => false,
            });
            if !unspecified {
                self.swarm.behaviour_mut().kademlia.add_address(&peer, address);
            }
        }
    }

    fn penalize(&mut self, peer: PeerId, penalty: Penalty, now: Instant) {
        if reputation::tolerance(penalty).is_none() {
            return;
        }
        let value = self.ledger.penalize(peer, penalty, now);
        self.counters.penalty();
        observe::penalized(&peer, penalty, value);
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, value);
        self.check_score(peer, now);
    }

    /// Bans the peer if its score is below the graylist threshold.
    fn check_score(&mut self, peer: PeerId, now: Instant) {
        if self.bans.is_banned(&peer, now) {
            return;
        }
        let gossip_score = self.swarm.behaviour().gossipsub.peer_score(&peer).unwrap_or(0.0);
        // Gossipsub only records application scores for peers it has seen connected (and
        // forgets them once their retained score expires); penalties held against any
        // other peer still count, so it cannot dodge a Fatal one by being away when it lands.
        let score =
            if self.swarm.is_connected(&peer) { gossip_score } else { gossip_score.min(self.ledger.value(&peer, now)) };
        if score < GRAYLIST_THRESHOLD {
            self.ban(peer, score, now);
        }
    }

    fn ban(&mut self, peer: PeerId, score: f64, now: Instant) {
        let was_connected = self.swarm.is_connected(&peer);
        self.bans.ban(peer, now + self.ban_duration);
        let behaviour = self.swarm.behaviour_mut();
        // Blocking also closes the peer's open connections and refuses new ones both ways.
        behaviour.blocked.block_peer(peer);
        // Not handed out to others by our DHT, nor dialled by our own queries.
        behaviour.kademlia.remove_peer(&peer);
        if was_connected {
            self.counters.disconnected_for_score();
        }
        observe::peer_banned(&peer, score, self.ban_duration, was_connected);
        self.update_peer_gauges();
    }

    fn maintain(&mut self, now: Instant) {
        for (peer, value) in self.ledger.decay(now) {
            self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, value);
        }
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in &connected {
            self.check_score(*peer, now);
        }
        self.track_low_scores(&connected);
        for peer in self.bans.expire(now) {
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
            observe::ban_lifted(&peer);
        }
        self.update_peer_gauges();
    }

    /// Notes connected peers crossing the publish threshold, either way. A peer below it
    /// but above the graylist is neither banned nor served: an operator must be told.
    fn track_low_scores(&mut self, connected: &[PeerId]) {
        self.low_score.retain(|peer| connected.contains(peer));
        for peer in connected {
            let Some(score) = self.swarm.behaviour().gossipsub.peer_score(peer) else { continue };
            if score < PUBLISH_THRESHOLD {
                if self.low_score.insert(*peer) {
                    observe::peer_score_low(peer, score);
                }
            } else if self.low_score.remove(peer) {
                observe::peer_score_recovered(peer, score);
            }
        }
        self.counters.set_peers_below_publish(self.low_score.len());
    }

    /// Dials bootstrap peers that are not connected, except banned ones: a bootstrap peer
    /// is trusted by its address, not its behaviour, and serves its ban like any peer.
    fn redial_bootstrap(&mut self) {
        let now = Instant::now();
        let local_peer_id = *self.swarm.local_peer_id();
        for entry in &self.bootstrap {
            if let Some(peer) = entry.peer {
                // A shared bootstrap list may name this very peer.
                if peer == local_peer_id || self.swarm.is_connected(&peer) || self.bans.is_banned(&peer, now) {
                    continue;
                }
            }
            if let Err(error) = self.swarm.dial(entry.dial.clone()) {
                observe::dial_failed(&entry.dial, &error);
            }
        }
    }

    fn update_peer_gauges(&self) {
        self.counters.set_peers(self.swarm.connected_peers().count(), self.bans.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our own envelope relayed back to us is a duplicate, never an invalid message held
    /// against the honest relayer (see `gossipsub_config`).
    #[test]
    fn our_own_messages_coming_back_are_not_offences() {
        let config = gossipsub_config(Duration::from_millis(200)).expect("valid config");
        assert!(config.allow_self_origin());
        assert!(matches!(config.validation_mode(), ValidationMode::Anonymous));
    }
}
