//! Peers find each other through Kademlia from a single bootstrap node, then gossip.

use std::time::Duration;

use backstop_protocol::Kind;

use crate::support::{wait_for, PeerBuilder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_knowing_only_a_common_bootstrap_node_discover_each_other_and_exchange_messages() {
    let b = PeerBuilder::new().start().await;
    let a = PeerBuilder::new().bootstrap(&b).start().await;
    let c = PeerBuilder::new().bootstrap(&b).start().await;

    // Neither A nor C was told about the other: only Kademlia (via B) can connect them.
    wait_for("A to discover and connect to C", Duration::from_secs(30), || a.is_connected_to(c.id())).await;
    wait_for("C to see the connection to A", Duration::from_secs(10), || c.is_connected_to(a.id())).await;

    a.publish_eventually(Kind::Intent, b"intent from A".to_vec()).await;
    wait_for("B and C to receive A's intent", Duration::from_secs(10), || async {
        b.has_received(b"intent from A") && c.has_received(b"intent from A")
    })
    .await;

    c.publish_eventually(Kind::Vote, b"vote from C".to_vec()).await;
    wait_for("A and B to receive C's vote", Duration::from_secs(10), || async {
        a.has_received(b"vote from C") && b.has_received(b"vote from C")
    })
    .await;
    let vote = a.received().into_iter().find(|message| message.data == b"vote from C").expect("vote recorded");
    assert_eq!(vote.kind, Kind::Vote);
    assert_eq!(a.handle.stats().vote.accepted, 1);
}
