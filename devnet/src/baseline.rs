//! The baseline: on every chain, a twin of the Backstop market protected only by open,
//! first-come liquidation, the way most margin protocols run today. Same engine code and
//! parameters, same tokens, oracle router and DEX, the same accounts' distribution; its own
//! `LiquidationSettlement` with no committee behind it and a ladder that opens the fallback
//! the moment an account is below maintenance (`setLadder(1.0, 0)`), so keepers race for
//! every liquidation with `liquidateOpen` and no premium ever reaches the protocol.
//!
//! Using the real settlement's open path (rather than a bespoke keeper entry point) keeps
//! the two markets' liquidation arithmetic identical: the only difference is who may act
//! first and what they pay for it.

use alloy::primitives::{Address, U256};
use backstop_bindings::{LiquidationSettlement, MarginEngine, TestToken};

use crate::chain::LocalChain;
use crate::keys::EvmKey;
use crate::market::{deploy_engine, Deployment, MarketParameters};
use crate::DevnetError;

/// The baseline market of one chain and the accounts opened on it.
pub struct BaselineMarket {
    pub deployment: Deployment,
    /// The Backstop market's profiled accounts, opened again (same keys) on the twin.
    pub positions: Vec<crate::market::Position>,
    /// The same seeded draw as the Backstop market's population.
    pub population: Vec<Address>,
}

impl BaselineMarket {
    pub fn accounts(&self) -> Vec<Address> {
        self.positions.iter().map(|position| position.address()).chain(self.population.iter().copied()).collect()
    }
}

/// `permissionlessHealthWad` of the baseline: 1.0, open as soon as below maintenance.
const OPEN_AT_MAINTENANCE_WAD: u128 = 1_000_000_000_000_000_000;

/// Deploys the baseline twin of `backstop` on `chain`. The returned [`Deployment`] shares
/// `usd`, `collaterals` and `oracle_router` with `backstop`; `engine`, `insurance_fund`,
/// `settlement`, `market_id` and `beneficiary` are the twin's own (no solver registry: no
/// solver ever bids on it).
pub async fn deploy(
    chain: &LocalChain,
    parameters: &MarketParameters,
    backstop: &Deployment,
) -> Result<Deployment, DevnetError> {
    let provider = &chain.provider;
    let admin = chain.deployer_address();
    let deploy_block = alloy::providers::Provider::get_block_number(provider)
        .await
        .map_err(|error| chain.error("read block number", error))?;
    let (engine, insurance_fund) =
        deploy_engine(chain, parameters, backstop.usd, backstop.oracle_router, &backstop.collaterals).await?;
    // A committee of one key nobody holds: the baseline has no network behind it.
    let nobody = EvmKey::random().address();
    let settlement = LiquidationSettlement::deploy(provider, admin, vec![nobody], U256::from(1u8))
        .await
        .map_err(|error| chain.error("deploy the baseline's LiquidationSettlement", error))?;
    let engine_contract = MarginEngine::new(engine, provider);
    chain
        .confirm("baseline engine.setSettlement", engine_contract.setSettlement(*settlement.address()).send().await)
        .await?;
    chain
        .confirm(
            "baseline settlement.registerMarket",
            settlement.registerMarket(engine, insurance_fund, U256::from(parameters.reserve_premium)).send().await,
        )
        .await?;
    let market_id = backstop_protocol::id::market_id(engine);
    chain
        .confirm(
            "baseline settlement.setLadder(1.0, 0)",
            settlement.setLadder(market_id, U256::from(OPEN_AT_MAINTENANCE_WAD), U256::ZERO).send().await,
        )
        .await?;
    let usd = TestToken::new(backstop.usd, provider);
    chain
        .confirm(
            "mint baseline engine liquidity",
            usd.mint(engine, U256::from(parameters.engine_liquidity)).send().await,
        )
        .await?;
    Ok(Deployment {
        admin,
        usd: backstop.usd,
        collaterals: backstop.collaterals.clone(),
        oracle_router: backstop.oracle_router,
        engine,
        insurance_fund,
        settlement: *settlement.address(),
        solver_registry: Address::ZERO,
        market_id,
        beneficiary: insurance_fund,
        deploy_block,
    })
}
