//! One auction end to end: the test peer broadcasts an intent, the solver commits and
//! reveals a `FixedPremium` bid, the "committee" signs the award, and the solver sends
//! `settle`. No market is registered on the fresh settlement contract, so the contract
//! reverts, which exercises revert decoding and the `SettleReverted` outcome.

use std::path::PathBuf;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use backstop_bindings::LiquidationSettlement;
use backstop_net::{self as net, GossipConfig, GossipHandle, Verdict};
use backstop_protocol::timing::now_ms;
use backstop_protocol::{Envelope, Intent, Kind, Message, Outcome};
use backstop_solver_sdk::strategies::FixedPremium;
use backstop_solver_sdk::{ChainEndpoint, SolverClient, SolverConfig};
use ed25519_dalek::SigningKey;

const CHAIN_ID: u64 = 31_337;

fn anvil_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BACKSTOP_ANVIL") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/node_modules/.bin/anvil");
    assert!(path.exists(), "anvil not installed: run `bash contracts/setup.sh` (or set BACKSTOP_ANVIL)");
    path
}

/// Publishes until the solver has subscribed (publish fails with InsufficientPeers before).
async fn publish_when_subscribed(gossip: &GossipHandle, kind: Kind, data: Vec<u8>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match gossip.publish(CHAIN_ID, kind, data.clone()).await {
            Ok(()) => return,
            Err(error) if tokio::time::Instant::now() > deadline => {
                panic!("never found a subscriber: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solver_never_bids_on_an_intent_for_an_unregistered_market() {
    let anvil_path = anvil_binary();
    let anvil = Anvil::new().path(anvil_path).chain_id(CHAIN_ID).try_spawn().expect("anvil starts");
    let deployer: PrivateKeySigner = anvil.keys()[0].clone().into();
    let executor: PrivateKeySigner = anvil.keys()[1].clone().into();
    let attesters: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(deployer.clone())).connect_http(anvil.endpoint_url());
    let settlement = LiquidationSettlement::deploy(
        &provider,
        deployer.address(),
        attesters.iter().map(|attester| attester.address()).collect(),
        U256::from(2),
    )
    .await
    .expect("settlement deploys");
    let settlement_address = *settlement.address();

    // The node side: a plain gossip peer.
    let node_key = SigningKey::from_bytes(&[0x0d; 32]);
    let (node, mut node_inbound) = net::spawn(GossipConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap: vec![],
        chains: vec![CHAIN_ID],
        heartbeat: Duration::from_millis(100),
        ..GossipConfig::new(node_key.to_bytes())
    })
    .await
    .expect("node gossip starts");

    let solver = SolverClient::start(
        SolverConfig {
            peer_secret_key: [0x5a; 32],
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            bootstrap: node.listen_addrs().to_vec(),
            chains: vec![ChainEndpoint {
                chain_id: CHAIN_ID,
                rpc_url: anvil.endpoint(),
                settlement: settlement_address,
                executor: executor.clone(),
                solver_registry: None,
                native_price_asset: None,
                flash_liquidator: None,
            }],
        },
        FixedPremium { bps: 100 },
    )
    .await
    .expect("solver starts");
    let mut outcomes = solver.outcomes();

    // Wait for the solver's subscription with a harmless Outcome message.
    let hello = Message::Outcome(Outcome { chainId: CHAIN_ID, intentId: B256::ZERO, status: 2, txHash: B256::ZERO });
    publish_when_subscribed(&node, Kind::Outcome, Envelope::seal(&node_key, &hello).0).await;

    let market_id = B256::repeat_byte(0xaa);
    let account = Address::repeat_byte(0xac);
    let intent = Intent {
        chainId: CHAIN_ID,
        settlement: settlement_address,
        marketId: market_id,
        account,
        nonce: U256::ZERO,
        debtAsset: Address::repeat_byte(0xde),
        collateralAsset: Address::repeat_byte(0xc0),
        maxRepay: U256::from(10_000),
        observedBlock: 1,
        observedPrice: U256::from(1),
        openTimeMs: now_ms(),
        commitMs: 800,
        revealMs: 400,
        reservePremium: U256::from(5),
    };
    publish_when_subscribed(&node, Kind::Intent, Envelope::seal(&node_key, &Message::Intent(intent.clone())).0).await;

    // The settlement has no such market registered: the solver judges the intent as
    // every node does (unknown market) and never bids on it.
    let wait = async {
        loop {
            let message = node_inbound.recv().await.expect("gossip stopped");
            node.report(&message, Verdict::Accept).await;
            if message.kind == Kind::Commit {
                return message;
            }
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(3), wait).await.is_err(),
        "the solver committed to an intent for a market the settlement does not list"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), outcomes.recv()).await.is_err(),
        "no outcome for an intent that was never an auction"
    );
    solver.shutdown().await;
}
