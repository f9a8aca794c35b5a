//! Propagation latency on loopback: 20 peers in one process, meshed through 3 bootstrap
//! peers (each other peer knows exactly one of them and discovers the rest through
//! Kademlia). One peer publishes 200 intent-sized (600 byte) messages at 40 per second,
//! inside the default intent budget; every peer accepts promptly. For each message we
//! take the time from publish to its receipt at the last of the other 19 peers, and print
//! p50 / p99 / max. It measures; it asserts nothing about speed.
//!
//! Run: `cargo bench -p backstop-net --bench propagation`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backstop_net::{GossipConfig, GossipHandle, PublishError, Verdict};
use backstop_protocol::Kind;
use libp2p::multiaddr::Protocol;

const PEERS: usize = 20;
const BOOTSTRAP_PEERS: usize = 3;
const MESSAGES: u32 = 200;
const MESSAGE_BYTES: usize = 600;
const PUBLISH_INTERVAL: Duration = Duration::from_millis(25);
const CHAIN_ID: u64 = 31337;

/// Receipt times per message index, per peer.
type Receipts = Arc<Mutex<HashMap<u32, Vec<Instant>>>>;

fn message(tag: u8, index: u32) -> Vec<u8> {
    let mut data = vec![tag];
    data.extend_from_slice(&index.to_be_bytes());
    data.resize(MESSAGE_BYTES, 0x5a);
    data
}

async fn start_peer(bootstrap: Vec<libp2p::Multiaddr>, receipts: Receipts) -> GossipHandle {
    let config = GossipConfig {
        chains: vec![CHAIN_ID],
        heartbeat: Duration::from_millis(200),
        bootstrap,
        ..GossipConfig::new(rand::random())
    };
    let (handle, mut inbound) = backstop_net::spawn(config).await.expect("transport starts");
    let reporter = handle.clone();
    tokio::spawn(async move {
        while let Some(message) = inbound.recv().await {
            let at = Instant::now();
            // Report first: forwarding waits for the verdict.
            reporter.report(&message, Verdict::Accept).await;
            if message.data.len() >= 5 && message.data[0] == b'm' {
                let index = u32::from_be_bytes([message.data[1], message.data[2], message.data[3], message.data[4]]);
                receipts.lock().expect("receipts").entry(index).or_default().push(at);
            }
        }
    });
    handle
}

fn address(handle: &GossipHandle) -> libp2p::Multiaddr {
    handle.listen_addrs()[0].clone().with(Protocol::P2p(handle.peer_id()))
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The machine's 1-minute load average, printed beside the figures: on a shared 2-core
/// machine the tail latency mostly measures what else is running.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("load average before start: {}", load_average());
    let receipts: Receipts = Arc::new(Mutex::new(HashMap::new()));
    let mut peers: Vec<GossipHandle> = Vec::new();
    let first = start_peer(Vec::new(), receipts.clone()).await;
    peers.push(first);
    for _ in 1..BOOTSTRAP_PEERS {
        let peer = start_peer(vec![address(&peers[0])], receipts.clone()).await;
        peers.push(peer);
    }
    for index in BOOTSTRAP_PEERS..PEERS {
        let bootstrap = address(&peers[index % BOOTSTRAP_PEERS]);
        peers.push(start_peer(vec![bootstrap], receipts.clone()).await);
    }
    let publisher = peers[PEERS - 1].clone();

    // Let discovery and the meshes settle: every peer sees most others, then warm-up
    // messages reach everyone.
    let settle_started = Instant::now();
    loop {
        let mut least = usize::MAX;
        for peer in &peers {
            least = least.min(peer.peer_count().await);
        }
        if least >= PEERS / 2 || settle_started.elapsed() > Duration::from_secs(60) {
            println!("discovery: every peer connected to >= {least} others after {:?}", settle_started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for round in 0..10u32 {
        loop {
            match publisher.publish(CHAIN_ID, Kind::Intent, message(b'w', round)).await {
                Ok(()) => break,
                Err(PublishError::NoPeers { .. }) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(error) => panic!("warm-up publish failed: {error}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut published_at = Vec::with_capacity(MESSAGES as usize);
    for index in 0..MESSAGES {
        let at = Instant::now();
        publisher.publish(CHAIN_ID, Kind::Intent, message(b'm', index)).await.expect("publish");
        published_at.push(at);
        tokio::time::sleep(PUBLISH_INTERVAL).await;
    }
    // Wait (bounded) for stragglers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let complete = receipts.lock().expect("receipts").values().filter(|times| times.len() == PEERS - 1).count();
        if complete == MESSAGES as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let receipts = receipts.lock().expect("receipts");
    let mut last_receipt = Vec::new();
    let mut every_receipt = Vec::new();
    let mut incomplete = 0;
    for (index, published) in published_at.iter().enumerate() {
        let times = receipts.get(&(index as u32)).cloned().unwrap_or_default();
        if times.len() < PEERS - 1 {
            incomplete += 1;
            continue;
        }
        every_receipt.extend(times.iter().map(|time| time.duration_since(*published)));
        if let Some(last) = times.iter().max() {
            last_receipt.push(last.duration_since(*published));
        }
    }
    last_receipt.sort();
    every_receipt.sort();
    println!(
        "propagation: {PEERS} peers ({BOOTSTRAP_PEERS} bootstrap), {MESSAGES} messages of {MESSAGE_BYTES} bytes, one every {PUBLISH_INTERVAL:?}"
    );
    if last_receipt.is_empty() {
        println!("no message reached all {} other peers", PEERS - 1);
        return;
    }
    println!(
        "publish -> last of {} receipts: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 50 ms)",
        PEERS - 1,
        percentile(&last_receipt, 0.50).as_secs_f64() * 1e3,
        percentile(&last_receipt, 0.99).as_secs_f64() * 1e3,
        last_receipt[last_receipt.len() - 1].as_secs_f64() * 1e3,
    );
    println!(
        "publish -> any receipt:        p50 {:.2} ms, p99 {:.2} ms",
        percentile(&every_receipt, 0.50).as_secs_f64() * 1e3,
        percentile(&every_receipt, 0.99).as_secs_f64() * 1e3,
    );
    println!("messages that did not reach every peer within 10 s: {incomplete}");
    println!("load average after: {}", load_average());
    let stats = publisher.stats();
    println!("publisher: {} intents published, {} peers connected", stats.intent.published, stats.peers_connected);
}
