//! A hostile peer written from the protocol documentation alone floods the devnet's
//! nodes during a crash: forged envelopes, intents with false claims about the chain (for
//! healthy and nonexistent accounts, from a fresh key each), an intent from the far
//! future, and thousands of commits per second from fresh, unbonded keys. The nodes
//! keep running, penalise and disconnect it, and the honest crash still settles with the
//! best bid.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use backstop_devnet::{wait_for, Devnet};
use backstop_net::{GossipConfig, GossipHandle};
use backstop_protocol::envelope::Envelope;
use backstop_protocol::message::{BidCommit, Intent, Kind, Message};
use ed25519_dalek::SigningKey;

use crate::outcome::{assert_crash_bites, assert_crash_outcome, await_all_settled, keep_logs_on_error};

const LOW_BPS: u32 = 50;
const HIGH_BPS: u32 = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_liar_is_cut_off_and_the_crash_still_settles_with_the_best_bid() -> eyre::Result<()> {
    let devnet = Devnet::builder().chains(1).nodes(3).threshold(2).solvers(&[LOW_BPS, HIGH_BPS]).start().await?;
    let result = scenario(&devnet).await;
    let () = keep_logs_on_error(&devnet, result);
    devnet.shutdown();
    Ok(())
}

fn fresh_key(counter: &AtomicU64) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    seed[31] = 0x77;
    SigningKey::from_bytes(&seed)
}

async fn scenario(devnet: &Devnet) -> eyre::Result<()> {
    let manifest = devnet.manifest();
    let chain = &manifest.chains[0];
    let deployment = &chain.deployment;
    let bootstrap = manifest
        .nodes
        .iter()
        .flat_map(|node| node.listen_addrs.iter().map(|address| address.parse()))
        .collect::<Result<Vec<_>, _>>()?;
    let (attacker, _inbound) = backstop_net::spawn(GossipConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        bootstrap,
        chains: vec![chain.chain_id],
        heartbeat: Duration::from_millis(200),
        ..GossipConfig::new([0x66; 32])
    })
    .await?;
    wait_for("the attacker to connect to every node", Duration::from_secs(20), || async {
        attacker.peer_count().await >= manifest.nodes.len()
    })
    .await?;

    // The honest terms of the market, as any peer can read them from the chain.
    let template = Intent {
        chainId: chain.chain_id,
        settlement: deployment.settlement,
        marketId: devnet.market_id(0).expect("market registered"),
        account: Address::ZERO,
        nonce: U256::ZERO,
        debtAsset: deployment.usd,
        collateralAsset: deployment.collaterals[0].token,
        maxRepay: U256::from(10u128.pow(21)),
        observedBlock: 0,
        observedPrice: U256::from(1),
        openTimeMs: 0,
        commitMs: 800,
        revealMs: 400,
        reservePremium: U256::from(devnet.parameters().reserve_premium),
    };
    let provider = ProviderBuilder::new().connect_http(chain.rpc_url.parse()?);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let flood = tokio::spawn(flood(attacker.clone(), template, provider.erased(), stop.clone(), sent.clone()));

    // The honest network meanwhile: a 25% crash, liquidated through auctions.
    let (winner_name, _, winner_executor) =
        devnet.solvers().into_iter().find(|(_, bps, _)| *bps == HIGH_BPS).expect("the 150 bps solver runs");
    let crash = devnet.crash(2_500).await?;
    assert_crash_bites(&crash);
    await_all_settled(devnet, &crash, Duration::from_secs(90)).await?;
    assert_crash_outcome(devnet, &crash, &winner_name, winner_executor, HIGH_BPS).await?;

    // Every node penalised the attacker into the graylist and cut it off.
    wait_for("every node to disconnect the attacker", Duration::from_secs(30), || async {
        attacker.peer_count().await == 0
    })
    .await?;
    stop.store(true, Ordering::Relaxed);
    let _ = flood.await;
    let sent = sent.load(Ordering::Relaxed);
    // Checked over what the attacker got out: first make sure it got something out.
    assert!(sent > 50, "the attacker did flood (a round is 53 messages) before it was cut off: {sent} messages");
    devnet.check_processes()?;
    println!("[test] attacker sent {sent} hostile messages; every node cut it off and kept running");
    Ok(())
}

async fn flood(
    attacker: GossipHandle,
    template: Intent,
    provider: alloy::providers::DynProvider,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) {
    let keys = AtomicU64::new(1);
    let chain_id = template.chainId;
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let head = provider.get_block_number().await.unwrap_or(0);
        let now = backstop_protocol::timing::now_ms();
        let mut batch: Vec<(Kind, Vec<u8>)> = Vec::new();
        // False claims: a healthy or nonexistent account "liquidatable" at the head.
        let mut liar = template.clone();
        liar.account = Address::from_word(B256::from(U256::from(round)));
        liar.observedBlock = head;
        liar.openTimeMs = now;
        batch.push((Kind::Intent, Envelope::seal(&fresh_key(&keys), &Message::Intent(liar.clone())).0));
        // From the far future: must be a verdict, never an overflow.
        let mut future = liar.clone();
        future.openTimeMs = u64::MAX - 1;
        batch.push((Kind::Intent, Envelope::seal(&fresh_key(&keys), &Message::Intent(future)).0));
        // A forged envelope: one flipped signature bit.
        let mut forged = Envelope::seal(&fresh_key(&keys), &Message::Intent(liar)).0;
        forged[40] ^= 1;
        batch.push((Kind::Intent, forged));
        // Sybil commits from fresh, unbonded keys.
        for index in 0..50u64 {
            let commit = BidCommit {
                chainId: chain_id,
                intentId: B256::from(U256::from(round * 1_000 + index)),
                commitment: B256::repeat_byte(0x11),
            };
            batch.push((Kind::Commit, Envelope::seal(&fresh_key(&keys), &Message::Commit(commit)).0));
        }
        for (kind, data) in batch {
            if attacker.publish(chain_id, kind, data).await.is_ok() {
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
