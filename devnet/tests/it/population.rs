use alloy::primitives::U256;
use backstop_bindings::MarginEngine;
use backstop_devnet::population::{draw, PopulationSpec};
use backstop_devnet::Devnet;

/// A bulk population opens on chain exactly as drawn: every account holds its draw's
/// collateral and debt, and is healthy at the starting prices.
#[tokio::test]
async fn a_population_opens_on_chain_as_drawn() {
    let devnet =
        Devnet::builder().chains(1).nodes(0).threshold(1).solvers(&[]).population(300).seed(5).start().await.unwrap();
    let chain = &devnet.chains()[0];
    assert_eq!(chain.population.len(), 300);
    let draws = draw(&PopulationSpec::new(300, 5u64.wrapping_add(chain.chain.chain_id)), devnet.parameters());
    let engine = MarginEngine::new(chain.deployment.engine, &chain.chain.provider);
    for (account, draw) in chain.population.iter().zip(&draws).step_by(7) {
        assert_eq!(engine.debtOf(*account).call().await.unwrap(), draw.debt);
        for (collateral, units) in chain.deployment.collaterals.iter().zip(&draw.units) {
            assert_eq!(engine.collateralOf(*account, collateral.token).call().await.unwrap(), *units);
        }
        assert!(!engine.isLiquidatable(*account).call().await.unwrap());
        assert!(draw.debt > U256::ZERO);
    }
    devnet.shutdown();
}
