//! The node's local risk model against the real `MarginEngine` on anvil: hundreds of
//! random accounts, random actions (deposit, withdraw, borrow, repay) and random price
//! moves, including a collateral whose feeds all lapse. After each round a real
//! `ChainWatcher` indexes the chain (positions re-read from `PositionChanged` logs) and,
//! for every account, the local valuation, `isLiquidatable`, `maxRepay` and
//! `previewSeize` must equal the contract's views at the same block, and a revert on
//! chain must be an unpriceable account locally.

use std::time::Duration;

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use backstop_bindings::{MarginEngine, MockPriceFeed, TestToken};
use backstop_devnet::keys::EvmKey;
use backstop_devnet::market::{self, feed_answer, MarketParameters, PositionProfile};
use backstop_devnet::LocalChain;
use backstop_node::chain::{ChainWatcher, WatcherContext};
use backstop_node::config::{ChainConfig, RiskConfig};
use backstop_node::status::SharedStatus;
use backstop_node::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ACCOUNTS: usize = 200;
const ROUNDS: usize = 4;
const GAS: u64 = 3_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_health_matches_the_contract_on_random_accounts_actions_and_prices() {
    let mut rng = StdRng::seed_from_u64(0xb4c5_2026);
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<EvmKey> = (0..ACCOUNTS).map(|_| EvmKey::random()).collect();
    let signers: Vec<PrivateKeySigner> = keys.iter().map(|key| key.signer.clone()).collect();
    let anvil = backstop_devnet::binaries::anvil().unwrap();
    let chain = LocalChain::spawn(&anvil, 31_337, &dir.path().join("anvil.log"), &signers).unwrap();
    let parameters = MarketParameters::default();
    let deployment = market::deploy(&chain, &parameters, vec![Address::repeat_byte(0xa7)], 1, &[]).await.unwrap();

    // Random leverage from just above the initial margin to very safe, across both assets.
    let accounts: Vec<(EvmKey, PositionProfile)> = keys
        .iter()
        .map(|key| {
            let weth = if rng.gen_bool(0.8) { rng.gen_range(1..20_000) } else { 0 };
            let wbtc = if weth == 0 || rng.gen_bool(0.5) { rng.gen_range(1..600) } else { 0 };
            let profile = PositionProfile {
                collateral_milli: vec![weth, wbtc],
                collateral_ratio_bps: rng.gen_range(14_500..40_000),
            };
            (key.clone(), profile)
        })
        .collect();
    let positions = market::open_positions(&chain, &deployment, &parameters, &accounts).await.unwrap();
    assert_eq!(positions.len(), ACCOUNTS);

    let store = Store::open(&dir.path().join("db")).unwrap();
    let (events, mut events_rx) = tokio::sync::mpsc::channel(1 << 16);
    tokio::spawn(async move { while events_rx.recv().await.is_some() {} });
    let config = ChainConfig {
        chain_id: chain.chain_id,
        rpc_url: chain.rpc_url.clone(),
        ws_url: None,
        settlement: deployment.settlement,
        start_block: deployment.deploy_block,
        solver_registry: None,
        poll_interval: Duration::from_millis(100),
        watch_all: false,
        watch_markets: vec![deployment.market_id],
        watch_adapters: Vec::new(),
    };
    let provider = backstop_node::chain::provider(&config).unwrap();
    let mut watcher = ChainWatcher::new(WatcherContext {
        config,
        risk: RiskConfig::default(),
        provider: provider.clone(),
        store,
        events,
        metrics: Default::default(),
        status: SharedStatus::default(),
        reconfirm: Default::default(),
    });

    let engine = MarginEngine::new(deployment.engine, &chain.provider);
    let mut compared = 0;
    let mut liquidatable_seen = 0;
    let mut unpriceable_seen = 0;
    for round in 0..ROUNDS {
        if round > 0 {
            act_randomly(&chain, &deployment, &positions, &mut rng).await;
            move_prices(&chain, &deployment, &parameters, &mut rng, round).await;
        }
        while !watcher.poll().await.unwrap() {}
        let block = provider.get_block_number().await.unwrap();
        let at = BlockId::number(block);
        let risk = watcher.market_risk(&deployment.market_id).expect("the allowed market is watched");
        assert_eq!(risk.accounts(), ACCOUNTS, "every account indexed from its logs");
        let model = risk.engine_model(&provider, at).await.unwrap().expect("a MarginEngine is modelled locally");

        for position in &positions {
            let account = position.address();
            let (units, debt) = risk.position(&account).expect("tracked");
            // The mirror equals the contract's storage...
            assert_eq!(debt, engine.debtOf(account).block(at).call().await.unwrap(), "debt of {account}");
            for (index, collateral) in deployment.collaterals.iter().enumerate() {
                let stored = engine.collateralOf(account, collateral.token).block(at).call().await.unwrap();
                assert_eq!(units[index], stored, "{} of {account}", collateral.symbol);
            }
            // ...and the local valuation equals the contract's views, or both fail.
            let chain_health = engine.accountHealth(account).block(at).call().await;
            match model.value(&units, debt) {
                Ok(valuation) => {
                    let health = chain_health.unwrap_or_else(|error| panic!("chain reverted for {account}: {error}"));
                    assert_eq!(valuation.collateral_value, health.collateralValue, "collateral value of {account}");
                    assert_eq!(valuation.debt, health.debtValue);
                    assert_eq!(valuation.requirement, health.requirement);
                    let liquidatable = engine.isLiquidatable(account).block(at).call().await.unwrap();
                    assert_eq!(valuation.is_liquidatable(), liquidatable, "isLiquidatable of {account}");
                    let max_repay = engine.maxRepay(account).block(at).call().await.unwrap();
                    assert_eq!(model.max_repay(&valuation).unwrap(), max_repay, "maxRepay of {account}");
                    for repay in [max_repay, max_repay / U256::from(3u8), debt] {
                        let seized = engine.previewSeize(account, repay).block(at).call().await.unwrap();
                        assert_eq!(
                            model.preview_seize(&units, debt, repay).unwrap(),
                            seized,
                            "previewSeize of {account}"
                        );
                    }
                    liquidatable_seen += usize::from(liquidatable);
                }
                Err(_) => {
                    assert!(chain_health.is_err(), "locally unpriceable, but the chain values {account}");
                    unpriceable_seen += 1;
                }
            }
            compared += 1;
        }
    }
    assert_eq!(compared, ACCOUNTS * ROUNDS);
    // The rounds must have produced every case worth comparing.
    assert!(liquidatable_seen > 0, "no account went under: the price moves are too mild");
    assert!(liquidatable_seen < compared, "every account under: the comparison says little about healthy ones");
    assert!(unpriceable_seen > 0, "the lapsed-feed round produced no unpriceable account");
}

/// A random action per account: deposit, withdraw, borrow or repay a random amount (an
/// action the engine refuses, e.g. a borrow above initial margin, simply does not happen).
async fn act_randomly(
    chain: &LocalChain,
    deployment: &market::Deployment,
    positions: &[market::Position],
    rng: &mut StdRng,
) {
    let engine = MarginEngine::new(deployment.engine, &chain.provider);
    let usd = TestToken::new(deployment.usd, &chain.provider);
    for position in positions {
        let account = position.address();
        let collateral = &deployment.collaterals[rng.gen_range(0..deployment.collaterals.len())];
        let token = TestToken::new(collateral.token, &chain.provider);
        let amount = U256::from(rng.gen_range(1u64..2_000)) * U256::from(10u64.pow(15));
        let pending = match rng.gen_range(0..5) {
            0 => {
                let _ = chain.confirm("mint", token.mint(account, amount).send().await).await;
                let _ =
                    chain.confirm("approve", token.approve(deployment.engine, amount).from(account).send().await).await;
                engine.deposit(collateral.token, amount).from(account).gas(GAS).send().await
            }
            1 => engine.withdraw(collateral.token, amount / U256::from(4u8)).from(account).gas(GAS).send().await,
            2 => engine.borrow(amount * U256::from(100u8)).from(account).gas(GAS).send().await,
            3 => {
                let repay = amount * U256::from(200u16);
                let _ = chain.confirm("mint usd", usd.mint(account, repay).send().await).await;
                let _ = chain
                    .confirm("approve usd", usd.approve(deployment.engine, repay).from(account).send().await)
                    .await;
                engine.repay(repay.min(position.debt)).from(account).gas(GAS).send().await
            }
            _ => continue,
        };
        // Refused actions revert; that is part of the test (the mirror must not move).
        if let Ok(pending) = pending {
            let _ = pending.get_receipt().await;
        }
    }
}

/// Moves every feed of each asset by a random step (down up to 30%, up to 10%); in
/// round 2 every WBTC feed goes stale, so holdings of it beyond dust become unpriceable.
async fn move_prices(
    chain: &LocalChain,
    deployment: &market::Deployment,
    parameters: &MarketParameters,
    rng: &mut StdRng,
    round: usize,
) {
    for (spec, collateral) in parameters.collaterals.iter().zip(&deployment.collaterals) {
        let factor_bps: u128 = rng.gen_range(7_000..11_000);
        let price = spec.initial_price * factor_bps / 10_000 * (10 - round as u128) / 10;
        for feed in &collateral.feeds {
            let feed = MockPriceFeed::new(*feed, &chain.provider);
            chain.confirm("set price", feed.setPrice(feed_answer(price)).send().await).await.unwrap();
            if round == 2 && spec.symbol == "WBTC" {
                let stale = U256::from(1u8);
                chain.confirm("stale feed", feed.setUpdatedAt(stale).send().await).await.unwrap();
            }
        }
    }
    // Let the router's volatility clock move between rounds.
    chain.provider.raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (600u64,)).await.unwrap();
    chain.mine_block().await.unwrap();
}
