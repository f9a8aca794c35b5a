//! Peer scoring: rejected messages (P4) and application penalties (P5) graylist a peer,
//! which is then disconnected and banned, while honest peers keep gossiping.

use std::sync::Arc;
use std::time::Duration;

use backstop_net::scoring::{rejects_to_graylist, GRAYLIST_THRESHOLD, PUBLISH_THRESHOLD};
use backstop_net::{Penalty, Verdict};
use backstop_protocol::Kind;

use crate::support::{wait_connected, wait_for, Judge, PeerBuilder, CHAIN_ID};

/// Forgeries are recognisable by content, so every peer rejects them alike and none
/// forwards them: each reaches the victim only from the forger.
fn reject_forgeries() -> Judge {
    Arc::new(|inbound| if inbound.data.starts_with(b"forged") { Verdict::Reject } else { Verdict::Accept })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_messages_are_rejected_is_graylisted_and_disconnected_and_honest_peers_still_deliver() {
    let victim = PeerBuilder::new().judge(reject_forgeries()).start().await;
    let honest = PeerBuilder::new().judge(reject_forgeries()).bootstrap(&victim).start().await;
    let forger = PeerBuilder::new().judge(reject_forgeries()).bootstrap(&victim).start().await;
    wait_connected(&[(&victim, &honest), (&victim, &forger)]).await;

    forger.publish_eventually(Kind::Commit, b"forged 0".to_vec()).await;
    for index in 1..40 {
        // Publishing fails once the forger has been cut off; that is the point.
        let _ = forger.handle.publish(CHAIN_ID, Kind::Commit, format!("forged {index}").into_bytes()).await;
    }

    wait_for("the victim to disconnect the forger", Duration::from_secs(10), || async {
        victim.handle.stats().peers_disconnected_for_score == 1 && !victim.is_connected_to(forger.id()).await
    })
    .await;
    let score = victim.handle.peer_score(forger.id()).await.expect("score retained after disconnect");
    assert!(score < GRAYLIST_THRESHOLD, "forger's score {score}");
    let stats = victim.handle.stats();
    assert!(stats.commit.rejected >= u64::from(rejects_to_graylist()), "{stats:?}");
    assert_eq!(stats.commit.accepted, 0);
    assert_eq!(stats.peers_banned, 1);

    // The honest peer is unaffected and its messages still flow.
    assert!(victim.is_connected_to(honest.id()).await);
    honest.publish_eventually(Kind::Commit, b"honest commit".to_vec()).await;
    wait_for("the victim to receive the honest commit", Duration::from_secs(10), || async {
        victim.has_received(b"honest commit")
    })
    .await;
    let delivered = victim.received().into_iter().find(|message| message.data == b"honest commit");
    assert_eq!(delivered.map(|message| message.source), Some(honest.id()));
    let honest_score = victim.handle.peer_score(honest.id()).await.expect("honest peer scored");
    assert!(honest_score >= 0.0, "honest peer's score {honest_score}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_penalty_disconnects_and_bans_at_once() {
    let victim = PeerBuilder::new().start().await;
    let offender = PeerBuilder::new().bootstrap(&victim).start().await;
    let bystander = PeerBuilder::new().bootstrap(&victim).start().await;
    wait_connected(&[(&victim, &offender), (&victim, &bystander)]).await;

    victim.handle.penalize(offender.id(), Penalty::Fatal).await;
    // Commands are handled in order, so once this query is answered the penalty has been
    // applied. "At once" means the ban came with the penalty itself, not at a later
    // maintenance pass and not after another message from the offender.
    let score = victim.handle.peer_score(offender.id()).await.expect("offender scored");
    let stats = victim.handle.stats();
    assert!(score < GRAYLIST_THRESHOLD, "offender's score {score}");
    assert_eq!(stats.peers_disconnected_for_score, 1);
    assert_eq!(stats.peers_banned, 1);
    assert_eq!(stats.penalties, 1);
    wait_for("the offender's connection to close", Duration::from_secs(5), || async {
        !victim.is_connected_to(offender.id()).await
    })
    .await;

    // The offender keeps redialling the victim (its bootstrap peer) every 2 s; the ban
    // refuses it. Watch through two redial rounds while the bystander is unaffected.
    bystander.publish_eventually(Kind::Intent, b"still here".to_vec()).await;
    wait_for("the victim to receive the bystander's intent", Duration::from_secs(10), || async {
        victim.has_received(b"still here")
    })
    .await;
    let watch_until = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < watch_until {
        assert!(!victim.is_connected_to(offender.id()).await, "banned offender reconnected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(victim.is_connected_to(bystander.id()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_bootstrap_peer_is_not_redialled_until_its_ban_ends() {
    const BAN: Duration = Duration::from_secs(5);
    let bootstrap = PeerBuilder::new().start().await;
    let peer = PeerBuilder::new().bootstrap(&bootstrap).ban_duration(BAN).start().await;
    wait_connected(&[(&peer, &bootstrap)]).await;

    let banned_at = std::time::Instant::now();
    peer.handle.penalize(bootstrap.id(), Penalty::Fatal).await;
    wait_for("the bootstrap peer to be cut off", Duration::from_secs(5), || async {
        !peer.is_connected_to(bootstrap.id()).await
    })
    .await;
    // The peer redials unreachable bootstrap peers every 2 s, but not this one while it
    // is banned (and the bootstrap peer itself never dials: it has no bootstrap list).
    while banned_at.elapsed() < BAN - Duration::from_millis(500) {
        assert!(!peer.is_connected_to(bootstrap.id()).await, "banned bootstrap peer redialled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once the ban ends it is the operator's bootstrap peer again.
    wait_for("the bootstrap peer to be redialled after its ban", Duration::from_secs(10), || {
        peer.is_connected_to(bootstrap.id())
    })
    .await;
    assert_eq!(peer.handle.stats().peers_banned, 0);
    assert_eq!(peer.handle.stats().peers_disconnected_for_score, 1);
}

/// A peer between the publish threshold and the graylist stays connected but hears next
/// to nothing from us; the stats (and a warning) say so, and nobody else is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_below_the_publish_threshold_is_counted_while_still_connected() {
    let victim = PeerBuilder::new().start().await;
    let offender = PeerBuilder::new().bootstrap(&victim).start().await;
    let bystander = PeerBuilder::new().bootstrap(&victim).start().await;
    wait_connected(&[(&victim, &offender), (&victim, &bystander)]).await;
    assert_eq!(victim.handle.stats().peers_below_publish, 0);

    for _ in 0..3 {
        victim.handle.penalize(offender.id(), Penalty::Low).await;
    }
    let score = victim.handle.peer_score(offender.id()).await.expect("offender scored");
    assert!((GRAYLIST_THRESHOLD..PUBLISH_THRESHOLD).contains(&score), "offender's score {score}");
    wait_for("the victim to count the offender below the publish threshold", Duration::from_secs(10), || async {
        victim.handle.stats().peers_below_publish == 1
    })
    .await;
    let stats = victim.handle.stats();
    assert_eq!((stats.peers_banned, stats.peers_disconnected_for_score), (0, 0), "{stats:?}");
    assert!(victim.is_connected_to(offender.id()).await, "below the publish threshold is not a ban");
    assert!(victim.is_connected_to(bystander.id()).await);
}
