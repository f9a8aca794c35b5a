use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::Provider;
use backstop_bindings::{LiquidationSettlement, MarginEngine, OracleRouter};
use backstop_devnet::Devnet;

const WAD: u128 = 1_000_000_000_000_000_000;

#[tokio::test]
async fn deploys_wires_and_seeds_every_chain() {
    let devnet = Devnet::builder().chains(2).nodes(0).threshold(2).solvers(&[]).start().await.unwrap();
    assert_eq!(devnet.chains().len(), 2);
    for chain in devnet.chains() {
        let provider = &chain.chain.provider;
        assert_eq!(provider.get_chain_id().await.unwrap(), chain.chain.chain_id);
        let engine = MarginEngine::new(chain.deployment.engine, provider);
        let settlement = LiquidationSettlement::new(chain.deployment.settlement, provider);
        let router = OracleRouter::new(chain.deployment.oracle_router, provider);
        assert_eq!(engine.settlement().call().await.unwrap(), chain.deployment.settlement);
        assert_eq!(engine.oracleRouter().call().await.unwrap(), chain.deployment.oracle_router);
        assert_eq!(engine.insuranceFund().call().await.unwrap(), chain.deployment.insurance_fund);
        let market = settlement.markets(chain.deployment.market_id).call().await.unwrap();
        assert_eq!(market.adapter, chain.deployment.engine, "market registered under the engine's id");
        assert_eq!(market.beneficiary, chain.deployment.insurance_fund, "premiums go to the engine's insurance fund");
        assert_eq!(chain.deployment.beneficiary, chain.deployment.insurance_fund);
        assert_eq!(settlement.threshold().call().await.unwrap(), U256::from(2));

        let tokens: Vec<_> = chain.deployment.collaterals.iter().map(|collateral| collateral.token).collect();
        assert_eq!(engine.collateralAssets().call().await.unwrap(), tokens);
        for (collateral, spec) in chain.deployment.collaterals.iter().zip(&devnet.parameters().collaterals) {
            assert_eq!(router.feedsOf(collateral.token).call().await.unwrap(), collateral.feeds);
            assert_eq!(
                router.anomalyFlags(collateral.token).call().await.unwrap(),
                U256::ZERO,
                "{}",
                collateral.symbol
            );
            assert_eq!(
                router.price(collateral.token).call().await.unwrap(),
                U256::from(spec.initial_price * 10_000_000_000)
            );
        }
        for position in &chain.positions {
            let account = position.address();
            assert_eq!(engine.debtOf(account).call().await.unwrap(), position.debt);
            for (token, amount) in &position.collateral {
                assert_eq!(engine.collateralOf(account, *token).call().await.unwrap(), *amount);
            }
            assert!(!engine.isLiquidatable(account).call().await.unwrap(), "accounts open healthy");
        }
    }

    // A kept-running devnet republishes its feeds: same prices, a new round, no anomaly.
    let mut observed_before = Vec::new();
    for chain in devnet.chains() {
        let router = OracleRouter::new(chain.deployment.oracle_router, &chain.chain.provider);
        for collateral in &chain.deployment.collaterals {
            observed_before.push(router.stateOf(collateral.token).call().await.unwrap().observedAt.to::<u64>());
        }
    }
    // (A round only counts as new with a later timestamp: let a second of 1 s blocks pass.)
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    devnet.refresh_feeds().await.unwrap();
    let mut observed_before = observed_before.into_iter();
    for chain in devnet.chains() {
        let router = OracleRouter::new(chain.deployment.oracle_router, &chain.chain.provider);
        for (collateral, spec) in chain.deployment.collaterals.iter().zip(&devnet.parameters().collaterals) {
            let observed_at = router.stateOf(collateral.token).call().await.unwrap().observedAt.to::<u64>();
            assert!(observed_at > observed_before.next().unwrap(), "{} recorded anew", collateral.symbol);
            assert_eq!(
                router.price(collateral.token).call().await.unwrap(),
                U256::from(spec.initial_price * 10_000_000_000)
            );
            assert_eq!(router.anomalyFlags(collateral.token).call().await.unwrap(), U256::ZERO);
        }
    }
}

/// The default profiles against the real contracts: a 25% drop in three steps raises both
/// assets' volatility to the haircut ceiling and puts exactly the three most leveraged
/// accounts under maintenance, none of them under water.
#[tokio::test]
async fn a_quarter_crash_puts_some_but_not_all_accounts_under() {
    let devnet = Devnet::builder().chains(2).nodes(0).threshold(1).solvers(&[]).start().await.unwrap();
    let crash = devnet.crash(2_500).await.unwrap();
    assert_eq!(crash.steps, 3);
    for (chain, chain_crash) in devnet.chains().iter().zip(&crash.chains) {
        let chain_id = chain.chain.chain_id;
        let provider = &chain.chain.provider;
        assert_eq!(chain_crash.step_blocks.len(), 3);
        assert!(chain_crash.step_blocks.windows(2).all(|pair| pair[0] < pair[1]), "one block per step");
        let expected_under: Vec<_> = chain.positions[..3].iter().map(|position| position.address()).collect();
        assert_eq!(chain_crash.under, expected_under, "chain {chain_id}");
        assert_eq!(chain_crash.healthy.len(), 3);

        for (asset, spec) in chain_crash.assets.iter().zip(&devnet.parameters().collaterals) {
            assert!(asset.volatility_after > asset.volatility_before * U256::from(10u8), "{asset:?}");
            assert!(asset.haircut_after > asset.haircut_before, "{asset:?}");
            assert_eq!(asset.flags_after, 0, "feeds moved together, no jump beyond the bound: {asset:?}");
            assert_eq!(asset.price_after, asset.price_before * U256::from(3u8) / U256::from(4u8), "{asset:?}");
            assert!(asset.haircut_after <= U256::from(spec.max_haircut_wad));
        }

        // Under maintenance but above water: the collateral at market covers the debt plus
        // the largest bonus, so liquidation leaves no shortfall.
        let engine = MarginEngine::new(chain.deployment.engine, provider);
        let router = OracleRouter::new(chain.deployment.oracle_router, provider);
        for (index, account) in chain_crash.under.iter().enumerate() {
            let debt = engine.debtOf(*account).call().await.unwrap();
            let mut market_value = U256::ZERO;
            for collateral in &chain.deployment.collaterals {
                let units = engine.collateralOf(*account, collateral.token).call().await.unwrap();
                let price = router.price(collateral.token).call().await.unwrap();
                market_value += units * price / U256::from(WAD);
            }
            assert!(market_value * U256::from(100u8) > debt * U256::from(107u8), "chain {chain_id} account {index}");
            let max_repay = engine.maxRepay(*account).call().await.unwrap();
            let seized = engine.previewSeize(*account, max_repay).call().await.unwrap();
            assert!(seized > max_repay, "chain {chain_id} account {index}: a liquidator gains the bonus");
            if index < 2 {
                assert_eq!(max_repay, debt, "chain {chain_id} account {index}: below the full-liquidation line");
            } else {
                assert_eq!(max_repay, debt / U256::from(2u8), "chain {chain_id} account {index}: close factor");
            }
        }
    }
    // Nobody liquidates without nodes: waiting must time out and name what is pending.
    let error = devnet.await_settlement(&crash, Duration::from_secs(2)).await.unwrap_err().to_string();
    assert!(error.contains("under since block"), "{error}");
    let observed = backstop_devnet::Observed::default();
    let report = devnet.report(&crash, &observed).await.unwrap();
    assert!(report.chains.iter().all(|chain| chain.settlements.is_empty() && chain.still_liquidatable.len() == 3));
    let rendered = report.render();
    assert!(
        rendered.contains("chain 31338") && rendered.contains("WBTC") && rendered.contains("volatility"),
        "{rendered}"
    );
}
