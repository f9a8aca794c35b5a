//! The shared gossip transport over real libp2p connections on loopback.

use std::time::Duration;

use backstop_protocol::envelope::Envelope;
use backstop_protocol::message::{BidCommit, Kind, Message};
use backstop_protocol::net::{spawn, GossipConfig, Verdict};
use backstop_protocol::B256;
use ed25519_dalek::SigningKey;

fn config(seed: u8, bootstrap: Vec<libp2p::Multiaddr>) -> GossipConfig {
    GossipConfig {
        secret_key: [seed; 32],
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap,
        chains: vec![31337],
        heartbeat: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn a_published_envelope_reaches_a_peer_on_the_chain_topic() {
    let (first, _first_inbound) = spawn(config(1, vec![])).await.unwrap();
    let (second, mut second_inbound) = spawn(config(2, first.listen_addrs().to_vec())).await.unwrap();
    assert_ne!(first.peer_id(), second.peer_id());
    let message =
        Message::Commit(BidCommit { chainId: 31337, intentId: B256::repeat_byte(1), commitment: B256::repeat_byte(2) });
    let envelope = Envelope::seal(&SigningKey::from_bytes(&[1; 32]), &message);

    // Publishing fails until the peers have connected and exchanged subscriptions.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while first.publish(31337, Kind::Commit, envelope.0.clone()).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "peers never connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let inbound = tokio::time::timeout(Duration::from_secs(10), second_inbound.recv()).await.unwrap().unwrap();
    assert_eq!(inbound.chain_id, 31337);
    assert_eq!(inbound.kind, Kind::Commit);
    assert_eq!(Envelope::open(&inbound.data).unwrap().message, message);
    second.report(&inbound, Verdict::Accept).await;
    assert_eq!(second.peer_count().await, 1);
}
