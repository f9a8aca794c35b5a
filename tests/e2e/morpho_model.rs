//! The node's local Morpho model against real Morpho Blue and the real `MorphoPreLiquidation`
//! adapter on anvil: hundreds of random borrowers (some opted in, some not), random
//! collateral, borrow, repay and opt-in changes, lenders moving the totals, random oracle
//! moves and time warps so interest accrues. After each round a real `ChainWatcher` indexes
//! the chain from Morpho's logs and, for every borrower, the mirror must equal Morpho's
//! storage and the local `accountHealth`, `isLiquidatable`, `maxRepay`, `previewSeize` and
//! band must equal the adapter's views at the same block; the watcher's own scan must hand
//! exactly the liquidatable borrowers to the core, with the adapter's `maxRepay`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use backstop_bindings::{LiquidationSettlement, Morpho, MorphoPreLiquidation, TestToken};
use backstop_devnet::keys::EvmKey;
use backstop_devnet::morpho::{self, BorrowerProfile, MorphoBorrower, MorphoDeployment, MorphoParameters};
use backstop_devnet::LocalChain;
use backstop_node::chain::{ChainEvent, ChainWatcher, WatcherContext};
use backstop_node::config::{ChainConfig, RiskConfig};
use backstop_node::risk::morpho::Band;
use backstop_node::risk::ModelKind;
use backstop_node::status::SharedStatus;
use backstop_node::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BORROWERS: usize = 200;
const ROUNDS: usize = 5;
const GAS: u64 = 1_000_000;
const E18: u128 = 1_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_morpho_health_matches_the_adapter_on_random_borrowers_actions_prices_and_time() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(0x0b1e_2026);
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<EvmKey> = (0..BORROWERS).map(|_| EvmKey::random()).collect();
    let signers: Vec<PrivateKeySigner> = keys.iter().map(|key| key.signer.clone()).collect();
    let anvil = backstop_devnet::binaries::anvil().unwrap();
    let chain = LocalChain::spawn(&anvil, 31_337, &dir.path().join("anvil.log"), &signers).unwrap();
    let admin = chain.deployer_address();
    let settlement =
        LiquidationSettlement::deploy(&chain.provider, admin, vec![Address::repeat_byte(0xa7)], U256::from(1u8))
            .await
            .unwrap();
    // A 30%-a-year rate, so the time warps move debts visibly.
    let parameters =
        MorphoParameters { rate_per_second_wad: 3 * E18 / 10 / (365 * 86_400), ..MorphoParameters::default() };
    let deployment = morpho::deploy(&chain, *settlement.address(), &parameters, None).await.unwrap();

    // LTV 40%..85% at the start (LLTV 86%, preLltv 80%), three in five opted in.
    let profiles: Vec<(EvmKey, BorrowerProfile)> = keys
        .iter()
        .map(|key| {
            let profile = BorrowerProfile {
                collateral: U256::from(rng.gen_range(1u64..50_000)) * U256::from(E18 / 1_000),
                ltv_bps: rng.gen_range(4_000..8_500),
                opted_in: rng.gen_bool(0.6),
            };
            (key.clone(), profile)
        })
        .collect();
    let borrowers = morpho::open_borrowers(&chain, &deployment, &parameters, &profiles).await.unwrap();
    assert_eq!(borrowers.len(), BORROWERS);
    println!("morpho_model: {BORROWERS} borrowers opened in {:?}", started.elapsed());

    let store = Store::open(&dir.path().join("db")).unwrap();
    let (events, mut events_rx) = tokio::sync::mpsc::channel(1 << 16);
    let config = ChainConfig {
        chain_id: chain.chain_id,
        rpc_url: chain.rpc_url.clone(),
        ws_url: None,
        settlement: *settlement.address(),
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

    let morpho_contract = Morpho::new(deployment.morpho, &chain.provider);
    let adapter = MorphoPreLiquidation::new(deployment.adapter, &chain.provider);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut compared = 0;
    for round in 0..ROUNDS {
        if round > 0 {
            act_randomly(&chain, &deployment, &borrowers, &mut rng).await;
            // Down 15% to up 6%, then a warp of up to 90 days so interest accrues virtually.
            let factor_bps: u128 = rng.gen_range(8_500..10_600);
            let price = MorphoParameters::oracle_price(parameters.initial_price) * U256::from(factor_bps)
                / U256::from(10_000u32);
            morpho::set_oracle_price(&chain, &deployment, price).await.unwrap();
            let warp: u64 = rng.gen_range(3_600..90 * 86_400);
            chain.provider.raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (warp,)).await.unwrap();
            chain.mine_block().await.unwrap();
        }
        while events_rx.try_recv().is_ok() {}
        let poll_started = Instant::now();
        while !watcher.poll().await.unwrap() {}
        let indexed_in = poll_started.elapsed();
        let mut candidates: BTreeMap<Address, U256> = BTreeMap::new();
        while let Ok(event) = events_rx.try_recv() {
            if let ChainEvent::Candidate(candidate) = event {
                candidates.insert(candidate.account, candidate.max_repay);
            }
        }
        let block = provider.get_block_number().await.unwrap();
        let at = BlockId::number(block);
        let risk = watcher.market_risk(&deployment.market_id).expect("the allowed Morpho market is watched");
        assert_eq!(risk.kind(), ModelKind::Morpho, "the adapter is recognised as MorphoPreLiquidation");
        assert_eq!(risk.accounts(), BORROWERS, "every borrower indexed from Morpho's logs");
        let model = risk.morpho_model(&provider, at).await.unwrap().expect("a Morpho market is modelled locally");

        // The mirrored totals are Morpho's storage.
        let market = morpho_contract.market(deployment.morpho_market_id).block(at).call().await.unwrap();
        let mirrored = risk.morpho_market().unwrap();
        assert_eq!(mirrored.total_borrow_assets, market.totalBorrowAssets, "round {round}: total borrow assets");
        assert_eq!(mirrored.total_borrow_shares, market.totalBorrowShares);
        assert_eq!(mirrored.total_supply_assets, market.totalSupplyAssets);
        assert_eq!(mirrored.total_supply_shares, market.totalSupplyShares);
        assert_eq!(mirrored.last_update, market.lastUpdate);
        if round > 0 {
            let accrued = model.totals.unwrap();
            assert!(accrued.total_borrow_assets > market.totalBorrowAssets, "round {round}: no virtual interest");
        }

        let mut liquidatable_now = BTreeMap::new();
        for borrower in &borrowers {
            let account = borrower.address();
            let mirror = risk.morpho_borrower(&account).expect("tracked");
            let position =
                morpho_contract.position(deployment.morpho_market_id, account).block(at).call().await.unwrap();
            assert_eq!(mirror.borrow_shares, position.borrowShares, "borrow shares of {account}");
            assert_eq!(mirror.collateral, position.collateral, "collateral of {account}");
            let authorized = morpho_contract.isAuthorized(account, deployment.adapter).block(at).call().await.unwrap();
            assert_eq!(mirror.authorized, authorized, "opt-in of {account}");

            let health = adapter.accountHealth(account).block(at).call().await.unwrap();
            let local = model.account_health(&mirror).unwrap_or_else(|error| panic!("{account}: {error}"));
            assert_eq!(local.collateral_value, health.collateralValue, "round {round}: collateral value of {account}");
            assert_eq!(local.debt_value, health.debtValue, "round {round}: debt of {account}");
            assert_eq!(local.requirement, health.requirement, "round {round}: requirement of {account}");
            let liquidatable = adapter.isLiquidatable(account).block(at).call().await.unwrap();
            assert_eq!(model.is_liquidatable(&mirror).unwrap(), liquidatable, "isLiquidatable of {account}");
            let max_repay = adapter.maxRepay(account).block(at).call().await.unwrap();
            assert_eq!(model.max_repay(&mirror).unwrap(), max_repay, "round {round}: maxRepay of {account}");
            for repay in [max_repay, max_repay / U256::from(3u8), local.debt_value, U256::from(1u8)] {
                let seized = adapter.previewSeize(account, repay).block(at).call().await.unwrap();
                assert_eq!(model.preview_seize(&mirror, repay).unwrap(), seized, "previewSeize({repay}) of {account}");
            }
            let status = adapter.status(account).block(at).call().await.unwrap();
            let band = model.band_of(&mirror).unwrap();
            let band_index = match band {
                Band::NoDebt => 0u8,
                Band::Healthy => 1,
                Band::PreLiquidation => 2,
                Band::MorphoLiquidation => 3,
            };
            assert_eq!(band_index, status.band, "band of {account}");
            let case = match (band, liquidatable, authorized) {
                (Band::PreLiquidation, true, _) => "pre-liquidatable",
                (Band::PreLiquidation, false, false) => "in the band, not opted in",
                (Band::PreLiquidation, false, true) => "in the band, dust",
                (Band::Healthy, ..) => "healthy",
                (Band::MorphoLiquidation, ..) => "beyond LLTV",
                (Band::NoDebt, ..) => "no debt",
            };
            *counts.entry(case).or_default() += 1;
            if liquidatable {
                liquidatable_now.insert(account, max_repay);
            }
            compared += 1;
        }
        // The watcher's own scan confirmed exactly these, with the adapter's maxRepay.
        assert_eq!(candidates, liquidatable_now, "round {round}: the watcher's candidates");
        println!(
            "morpho_model: round {round} at block {block}: indexed and scanned in {indexed_in:?}, {} liquidatable",
            liquidatable_now.len()
        );
    }
    println!("morpho_model: {counts:?} in {:?}", started.elapsed());
    assert_eq!(compared, BORROWERS * ROUNDS);
    // Every case worth comparing occurred.
    for case in ["pre-liquidatable", "healthy", "beyond LLTV", "in the band, not opted in"] {
        assert!(counts.get(case).copied().unwrap_or(0) > 0, "no borrower was {case}: {counts:?}");
    }
}

/// A random action per borrower: add or withdraw collateral, borrow or repay a random
/// amount, or change the opt-in; a lender supplies or withdraws now and then. Refused
/// actions (a borrow or withdrawal beyond LLTV) revert, and the mirror must not move.
async fn act_randomly(
    chain: &LocalChain,
    deployment: &MorphoDeployment,
    borrowers: &[MorphoBorrower],
    rng: &mut StdRng,
) {
    let morpho_contract = Morpho::new(deployment.morpho, &chain.provider);
    let loan = TestToken::new(deployment.loan_token, &chain.provider);
    let collateral = TestToken::new(deployment.collateral_token, &chain.provider);
    let params = Morpho::MarketParams {
        loanToken: deployment.loan_token,
        collateralToken: deployment.collateral_token,
        oracle: deployment.oracle,
        irm: deployment.irm,
        lltv: U256::from(deployment.lltv_wad),
    };
    for borrower in borrowers {
        let account = borrower.address();
        let amount = U256::from(rng.gen_range(1u64..5_000)) * U256::from(E18 / 1_000);
        let pending = match rng.gen_range(0..8) {
            0 => {
                let _ = chain.confirm("mint", collateral.mint(account, amount).send().await).await;
                let _ = chain
                    .confirm("approve", collateral.approve(deployment.morpho, amount).from(account).send().await)
                    .await;
                morpho_contract
                    .supplyCollateral(params.clone(), amount, account, Default::default())
                    .from(account)
                    .gas(GAS)
                    .send()
                    .await
            }
            1 => {
                morpho_contract
                    .withdrawCollateral(params.clone(), amount / U256::from(4u8), account, account)
                    .from(account)
                    .gas(GAS)
                    .send()
                    .await
            }
            2 => {
                morpho_contract
                    .borrow(params.clone(), amount * U256::from(300u16), U256::ZERO, account, account)
                    .from(account)
                    .gas(GAS)
                    .send()
                    .await
            }
            3 => {
                let repay = amount * U256::from(500u16);
                let _ = chain.confirm("mint loan", loan.mint(account, repay).send().await).await;
                let _ = chain
                    .confirm("approve loan", loan.approve(deployment.morpho, repay).from(account).send().await)
                    .await;
                let position = morpho_contract.position(deployment.morpho_market_id, account).call().await.unwrap();
                if rng.gen_bool(0.2) {
                    // Repay everything by shares.
                    let shares = U256::from(position.borrowShares);
                    morpho_contract.repay(params.clone(), U256::ZERO, shares, account, Default::default())
                } else {
                    morpho_contract.repay(
                        params.clone(),
                        repay.min(borrower.borrowed / U256::from(2u8)),
                        U256::ZERO,
                        account,
                        Default::default(),
                    )
                }
                .from(account)
                .gas(GAS)
                .send()
                .await
            }
            4 => {
                let authorized = morpho_contract.isAuthorized(account, deployment.adapter).call().await.unwrap();
                morpho_contract.setAuthorization(deployment.adapter, !authorized).from(account).gas(GAS).send().await
            }
            _ => continue,
        };
        if let Ok(pending) = pending {
            let _ = pending.get_receipt().await;
        }
    }
    // Lenders move the totals too (and accrue interest on chain).
    let liquidity = U256::from(rng.gen_range(1u64..100_000)) * U256::from(E18);
    let _ = chain.confirm("mint liquidity", loan.mint(chain.deployer_address(), liquidity).send().await).await;
    let _ = chain.confirm("approve liquidity", loan.approve(deployment.morpho, liquidity).send().await).await;
    let _ = chain
        .confirm(
            "supply",
            morpho_contract
                .supply(params, liquidity, U256::ZERO, deployment.lender, Default::default())
                .gas(GAS)
                .send()
                .await,
        )
        .await;
}
