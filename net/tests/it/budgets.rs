//! Per-peer budgets and the bounded inbound queue: floods are dropped before the
//! application and cost the flooder its connection; a stalled application never stalls
//! the swarm.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backstop_net::{PublishError, Verdict};
use backstop_protocol::Kind;

use crate::support::{wait_connected, wait_for, Judge, PeerBuilder, CHAIN_ID};

/// Flood messages are well-formed but useless (think stale intents): every peer ignores
/// them, so none relays them and only the budget holds the flooder to account.
fn ignore_flood() -> Judge {
    Arc::new(|inbound| if inbound.data.starts_with(b"flood") { Verdict::Ignore } else { Verdict::Accept })
}

/// The flooder relays nothing. A flooder that relayed honest messages, and got them to a
/// peer first, would have them dropped under its own exhausted budget (gossipsub then
/// treats later copies as duplicates): that loss is bounded by the ~2 s it takes to
/// graylist the flooder, and is documented in `budget.rs`. This test asserts the rest:
/// honest paths keep delivering while the flood is on.
fn relay_nothing() -> Judge {
    Arc::new(|_| Verdict::Ignore)
}

/// Intent-sized (~600 byte) distinct messages.
fn flood_message(index: u64) -> Vec<u8> {
    let mut data = format!("flood {index} ").into_bytes();
    data.resize(600, 0xab);
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_throttled_penalised_and_disconnected_while_honest_messages_arrive() {
    let victim = PeerBuilder::new().judge(ignore_flood()).start().await;
    let honest = PeerBuilder::new().judge(ignore_flood()).bootstrap(&victim).start().await;
    let flooder = PeerBuilder::new().judge(relay_nothing()).bootstrap(&victim).start().await;
    wait_connected(&[(&victim, &honest), (&victim, &flooder)]).await;
    flooder.publish_eventually(Kind::Intent, flood_message(0)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let flooded = Arc::new(AtomicU64::new(0));
    let flood = {
        let (handle, stop, flooded) = (flooder.handle.clone(), stop.clone(), flooded.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let mut index = 1;
            while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(20) {
                match handle.publish(CHAIN_ID, Kind::Intent, flood_message(index)).await {
                    Ok(()) => {
                        flooded.fetch_add(1, Ordering::Relaxed);
                    }
                    // Cut off by everyone: nothing left to flood.
                    Err(PublishError::NoPeers { .. }) => tokio::time::sleep(Duration::from_millis(10)).await,
                    // Its own send queues overflow: the flooder outruns its connections.
                    Err(PublishError::QueuesFull { .. }) => tokio::task::yield_now().await,
                    Err(error) => panic!("flood publish failed: {error}"),
                }
                index += 1;
            }
        })
    };

    // Meanwhile the honest peer sends 20 intents, one per 100 ms (well within budget).
    for index in 0..20 {
        honest.publish_eventually(Kind::Intent, format!("honest intent {index}").into_bytes()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    wait_for("the victim to disconnect the flooder", Duration::from_secs(15), || async {
        victim.handle.stats().peers_disconnected_for_score >= 1 && !victim.is_connected_to(flooder.id()).await
    })
    .await;
    wait_for("every honest intent to reach the victim's application", Duration::from_secs(10), || async {
        (0..20).all(|index| victim.has_received(format!("honest intent {index}").as_bytes()))
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    flood.await.expect("flood task");

    let stats = victim.handle.stats();
    let flood_rate_note =
        format!("flooder published {} messages; victim stats {stats:?}", flooded.load(Ordering::Relaxed));
    assert!(stats.intent.dropped_over_budget > 0, "{flood_rate_note}");
    // Only budgets penalised the flooder: the application rejected nothing.
    assert_eq!(stats.intent.rejected, 0, "{flood_rate_note}");
    assert!(stats.penalties >= 10, "{flood_rate_note}");
    // Far fewer flood messages reached the application than were sent.
    assert!(stats.intent.ignored < flooded.load(Ordering::Relaxed), "{flood_rate_note}");
    assert!(victim.is_connected_to(honest.id()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_inbound_queue_drops_messages_and_never_stalls_publishing() {
    let stalled = PeerBuilder::new().stalled_application().inbound_capacity(4).start().await;
    let sender = PeerBuilder::new().bootstrap(&stalled).start().await;
    wait_connected(&[(&stalled, &sender)]).await;

    sender.publish_eventually(Kind::Intent, b"intent 0".to_vec()).await;
    for index in 1..50 {
        sender.handle.publish(CHAIN_ID, Kind::Intent, format!("intent {index}").into_bytes()).await.expect("publish");
    }
    wait_for("the stalled peer to receive all 50 intents", Duration::from_secs(10), || async {
        stalled.handle.stats().intent.received == 50
    })
    .await;
    let stats = stalled.handle.stats();
    assert_eq!(stats.intent.dropped_queue_full, 46, "{stats:?}");
    assert_eq!(stats.intent.dropped_over_budget, 0);
    // Queue overflow is not the sender's fault.
    assert_eq!(stats.penalties, 0);

    // With its application queue full, the stalled peer still publishes, and its messages
    // still leave.
    for index in 0..5 {
        stalled.handle.publish(CHAIN_ID, Kind::Vote, format!("vote {index}").into_bytes()).await.expect("publish");
    }
    assert_eq!(stalled.handle.stats().vote.published, 5);
    wait_for("the sender to receive the stalled peer's votes", Duration::from_secs(10), || async {
        (0..5).all(|index| sender.has_received(format!("vote {index}").as_bytes()))
    })
    .await;
    assert!(stalled.is_connected_to(sender.id()).await);
}
