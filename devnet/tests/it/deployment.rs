use std::time::Duration;

use alloy::providers::Provider;
use backstop_devnet::Devnet;
use backstop_protocol::bindings::{LiquidationSettlement, MarginEngine};

#[tokio::test]
async fn deploys_wires_and_seeds_every_chain() {
    let devnet = Devnet::builder().chains(2).nodes(0).threshold(2).solvers(&[]).start().await.unwrap();
    assert_eq!(devnet.chains().len(), 2);
    for chain in devnet.chains() {
        let provider = &chain.chain.provider;
        assert_eq!(provider.get_chain_id().await.unwrap(), chain.chain.chain_id);
        let engine = MarginEngine::new(chain.deployment.engine, provider);
        let settlement = LiquidationSettlement::new(chain.deployment.settlement, provider);
        assert_eq!(engine.settlement().call().await.unwrap(), chain.deployment.settlement);
        let market = settlement.markets(chain.deployment.market_id).call().await.unwrap();
        assert_eq!(market.adapter, chain.deployment.engine, "market registered under the engine's id");
        assert_eq!(market.beneficiary, chain.deployment.beneficiary);
        assert_eq!(settlement.threshold().call().await.unwrap(), alloy::primitives::U256::from(2));
        for position in &chain.positions {
            assert_eq!(engine.debtOf(position.address()).call().await.unwrap(), position.debt);
            assert_eq!(engine.collateralOf(position.address()).call().await.unwrap(), position.collateral);
            assert!(!engine.isLiquidatable(position.address()).call().await.unwrap(), "accounts open healthy");
        }
    }
}

#[tokio::test]
async fn a_quarter_crash_puts_some_but_not_all_accounts_under() {
    let devnet = Devnet::builder().chains(2).nodes(0).threshold(1).solvers(&[]).start().await.unwrap();
    let crash = devnet.crash(2_500).await.unwrap();
    for (chain, chain_crash) in devnet.chains().iter().zip(&crash.chains) {
        let expected_under: Vec<_> = chain.positions[..3].iter().map(|position| position.address()).collect();
        assert_eq!(chain_crash.under, expected_under, "chain {}", chain.chain.chain_id);
        assert_eq!(chain_crash.healthy.len(), 3);
    }
    // Nobody liquidates without nodes: waiting must time out and name what is pending.
    let error = devnet.await_settlement(&crash, Duration::from_secs(2)).await.unwrap_err().to_string();
    assert!(error.contains("under since block"), "{error}");
    let observed = backstop_devnet::Observed::default();
    let report = devnet.report(&crash, &observed).await.unwrap();
    assert!(report.chains.iter().all(|chain| chain.settlements.is_empty() && chain.still_liquidatable.len() == 3));
    assert!(report.render().contains("chain 31338"));
}
