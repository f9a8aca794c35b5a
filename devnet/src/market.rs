//! The devnet market on one chain: the USD debt token, several collateral tokens each
//! priced by two mock feeds through an `OracleRouter`, a `MarginEngine` (with the
//! `InsuranceFund` it deploys) and a `LiquidationSettlement`, wired and registered; then
//! accounts opened at chosen leverage.
//!
//! The devnet does not mirror the engine's health math (haircuts depend on the router's
//! live volatility): which accounts a scenario puts under maintenance is read from the
//! chain (`isLiquidatable`), and the devnet tests check the default profiles against the
//! real contracts.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use backstop_bindings::{LiquidationSettlement, MarginEngine, MockPriceFeed, OracleRouter, SolverRegistry, TestToken};
use serde::Serialize;

use crate::chain::LocalChain;
use crate::keys::EvmKey;
use crate::DevnetError;

pub const WAD: u128 = 1_000_000_000_000_000_000;
/// The devnet feeds report 8 decimals, like Chainlink's USD feeds.
pub const FEED_DECIMALS: u8 = 8;
const FEED_SCALE: u128 = 10_000_000_000; // 1e18 / 1e8
/// Profiles give collateral amounts in thousandths of a token.
const MILLI: u128 = WAD / 1_000;

const fn wad_milli(milli: u64) -> u64 {
    milli * 1_000_000_000_000_000
}

/// One collateral asset the devnet lists: its token, its feeds' starting price, the
/// router's starting volatility and the engine's haircut and bonus for it.
#[derive(Debug, Clone, Serialize)]
pub struct CollateralSpec {
    pub symbol: String,
    pub name: String,
    /// USD per token at start, 8 decimals (every feed of the asset starts here).
    pub initial_price: u128,
    /// Feeds publishing this asset's price (the router takes their median; 2..=4).
    pub feeds: usize,
    /// One-hour volatility the router's EWMA starts from, WAD.
    pub initial_volatility_wad: u128,
    pub base_haircut_wad: u64,
    pub volatility_multiplier_wad: u64,
    pub max_haircut_wad: u64,
    pub liquidation_bonus_wad: u64,
}

/// The router's rules, shared by every asset (`OracleRouter.AssetConfig`).
#[derive(Debug, Clone, Serialize)]
pub struct OracleSettings {
    /// Seconds after which a feed round is stale.
    pub max_staleness: u32,
    /// Seconds a recorded jump keeps the anomaly flag raised.
    pub anomaly_cooldown: u32,
    /// Largest spread between an asset's feeds before they count as disagreeing.
    pub max_deviation_wad: u64,
    /// Largest move between observations that is not an anomaly.
    pub max_jump_wad: u64,
    /// Seconds the volatility EWMA remembers (its time constant: weights fall by e per period).
    pub volatility_time_constant: u32,
}

/// Risk and market settings the devnet deploys with.
#[derive(Debug, Clone, Serialize)]
pub struct MarketParameters {
    /// Listed in this order; [`PositionProfile::collateral_milli`] follows it.
    pub collaterals: Vec<CollateralSpec>,
    pub oracle: OracleSettings,
    pub maintenance_ratio_wad: u128,
    pub initial_margin_ratio_wad: u128,
    pub close_factor_wad: u128,
    /// Below this health ratio a whole debt may be repaid at once.
    pub full_liquidation_health_wad: u128,
    /// Debt below which a position is not worth liquidating twice, USD wei.
    pub dust_debt: u128,
    /// Smallest premium the settlement accepts, USD wei.
    pub reserve_premium: u128,
    /// USD the engine holds to lend.
    pub engine_liquidity: u128,
    /// USD each solver executor starts with (repays and premiums).
    pub executor_float: u128,
    /// The Uniswap V2 pools of every collateral against USD (`crate::dex`).
    pub dex: crate::dex::DexSettings,
}

impl Default for MarketParameters {
    fn default() -> Self {
        Self {
            collaterals: vec![
                CollateralSpec {
                    symbol: "WETH".into(),
                    name: "Wrapped Ether".into(),
                    initial_price: 2_000 * 100_000_000,
                    feeds: 2,
                    initial_volatility_wad: 10_000_000_000_000_000, // 1% per hour
                    base_haircut_wad: wad_milli(20),
                    volatility_multiplier_wad: wad_milli(2_500),
                    max_haircut_wad: wad_milli(300),
                    liquidation_bonus_wad: wad_milli(50),
                },
                CollateralSpec {
                    symbol: "WBTC".into(),
                    name: "Wrapped Bitcoin".into(),
                    initial_price: 60_000 * 100_000_000,
                    feeds: 2,
                    initial_volatility_wad: 8_000_000_000_000_000, // 0.8% per hour
                    base_haircut_wad: wad_milli(50),
                    volatility_multiplier_wad: wad_milli(2_500),
                    max_haircut_wad: wad_milli(300),
                    liquidation_bonus_wad: wad_milli(60),
                },
            ],
            oracle: OracleSettings {
                max_staleness: 3_600,
                anomaly_cooldown: 60,
                max_deviation_wad: wad_milli(20),
                max_jump_wad: wad_milli(250),
                volatility_time_constant: 3_600,
            },
            maintenance_ratio_wad: 1_100_000_000_000_000_000,
            initial_margin_ratio_wad: 1_250_000_000_000_000_000,
            close_factor_wad: 500_000_000_000_000_000,
            full_liquidation_health_wad: 900_000_000_000_000_000,
            dust_debt: 10 * WAD,
            reserve_premium: 1_000_000_000_000_000,
            engine_liquidity: 10_000_000 * WAD,
            executor_float: 1_000_000 * WAD,
            dex: crate::dex::DexSettings::default(),
        }
    }
}

/// How one account is opened: collateral posted per listed asset (thousandths of a token,
/// in [`MarketParameters::collaterals`] order) and the ratio of its market value to the
/// debt at the initial prices (basis points). The engine's initial margin applies to the
/// haircut value, so a ratio needs headroom above 1.25 (about 1.35 at the starting haircuts).
#[derive(Debug, Clone, Serialize)]
pub struct PositionProfile {
    pub collateral_milli: Vec<u64>,
    pub collateral_ratio_bps: u32,
}

/// Six accounts from aggressive to conservative, mixing WETH and WBTC. A 25% drop of both
/// assets in three steps drives the router's volatility up until both haircuts hit their
/// 30% ceiling; then the first three are under maintenance (the first two below the full
/// liquidation line, the third between it and 1.0) and the last three stay healthy. Every
/// account stays above water with room for the bonus (market value at least 1.41 × debt), so
/// each liquidation improves it and none leaves a shortfall. `tests/it` checks this
/// against the real contracts.
pub fn default_profiles() -> Vec<PositionProfile> {
    // (WETH, WBTC) in thousandths, market value / debt in bps; value at $2000 / $60000.
    [
        ((4_000, 200), 15_000), // $20k, half and half
        ((6_000, 100), 18_500), // $18k, mostly WETH
        ((2_500, 250), 20_000), // $20k, mostly WBTC
        ((8_000, 150), 23_000), // $25k
        ((12_000, 0), 28_000),  // $24k, WETH only
        ((0, 500), 40_000),     // $30k, WBTC only
    ]
    .into_iter()
    .map(|((weth, wbtc), collateral_ratio_bps)| PositionProfile {
        collateral_milli: vec![weth, wbtc],
        collateral_ratio_bps,
    })
    .collect()
}

impl PositionProfile {
    /// Token amount (wei) of the `index`th listed collateral.
    pub fn collateral(&self, index: usize) -> U256 {
        U256::from(self.collateral_milli.get(index).copied().unwrap_or(0)) * U256::from(MILLI)
    }

    /// Market value of the collateral at the collaterals' initial prices, USD wei.
    pub fn market_value(&self, parameters: &MarketParameters) -> U256 {
        parameters
            .collaterals
            .iter()
            .enumerate()
            .fold(U256::ZERO, |sum, (index, spec)| sum + market_value(self.collateral(index), spec.initial_price))
    }

    /// Debt borrowed at the initial prices: market value / ratio, rounded down.
    pub fn debt(&self, parameters: &MarketParameters) -> U256 {
        self.market_value(parameters) * U256::from(10_000u32) / U256::from(self.collateral_ratio_bps)
    }
}

/// Market value (no haircut) of `units` at `feed_price` (8 decimals), USD wei, rounded down.
pub fn market_value(units: U256, feed_price: u128) -> U256 {
    units * U256::from(feed_price) * U256::from(FEED_SCALE) / U256::from(WAD)
}

/// A feed price as the feed's `int256` answer (devnet prices are far below 2^255).
pub fn feed_answer(feed_price: u128) -> alloy::primitives::I256 {
    alloy::primitives::I256::from_raw(U256::from(feed_price))
}

/// The price after a drop of `drop_bps` basis points.
pub fn dropped_price(feed_price: u128, drop_bps: u32) -> u128 {
    feed_price * u128::from(10_000 - drop_bps.min(10_000)) / 10_000
}

/// The prices a drop of `drop_bps` passes through in `steps` equal steps (the last is
/// [`dropped_price`]).
pub fn step_prices(feed_price: u128, drop_bps: u32, steps: u32) -> Vec<u128> {
    let steps = steps.max(1);
    (1..=steps).map(|step| dropped_price(feed_price, drop_bps.min(10_000) * step / steps)).collect()
}

/// One listed collateral as deployed.
#[derive(Debug, Clone, Serialize)]
pub struct DeployedCollateral {
    pub symbol: String,
    pub token: Address,
    /// The asset's feeds, all moved together by scenarios.
    pub feeds: Vec<Address>,
}

/// Gas for calls that read the oracle router. The router refuses to read its feeds short of gas,
/// and the cost of its volatility decay grows with the time since the last round, so an estimate
/// made against one block can fall short in the next (seen under load): give such calls room, as
/// the scenario does for `update`. Unused gas is refunded.
const ORACLE_CALL_GAS: u64 = 3_000_000;

/// The devnet registry's bond: small next to the executors' gas money, but not free.
pub const SOLVER_BOND_WEI: u128 = 10u128.pow(17);
/// How long an exiting solver waits for its bond.
pub const SOLVER_EXIT_DELAY_SECS: u64 = 3_600;

/// Addresses of one chain's deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub admin: Address,
    pub usd: Address,
    pub collaterals: Vec<DeployedCollateral>,
    pub oracle_router: Address,
    pub engine: Address,
    /// The engine's `InsuranceFund`.
    pub insurance_fund: Address,
    pub settlement: Address,
    /// Where solvers bond their keys; nodes count only bonded solvers' bids.
    pub solver_registry: Address,
    pub market_id: B256,
    /// Registered with the settlement to receive every premium: the insurance fund.
    pub beneficiary: Address,
    pub deploy_block: u64,
}

impl Deployment {
    pub fn collateral(&self, symbol: &str) -> Option<&DeployedCollateral> {
        self.collaterals.iter().find(|collateral| collateral.symbol == symbol)
    }
}

/// An opened account.
#[derive(Clone)]
pub struct Position {
    pub key: EvmKey,
    pub profile: PositionProfile,
    /// (token, amount deposited) per listed collateral, zero amounts included.
    pub collateral: Vec<(Address, U256)>,
    pub debt: U256,
}

impl Position {
    pub fn address(&self) -> Address {
        self.key.address()
    }
}

/// Deploys tokens, feeds, router, engine (and its insurance fund) and settlement, wires
/// them and registers the market with the insurance fund as beneficiary.
pub async fn deploy(
    chain: &LocalChain,
    parameters: &MarketParameters,
    attesters: Vec<Address>,
    threshold: u64,
    executors: &[Address],
) -> Result<Deployment, DevnetError> {
    let provider = &chain.provider;
    let admin = chain.deployer_address();
    let deploy_block = provider.get_block_number().await.map_err(|error| chain.error("read block number", error))?;
    if parameters.collaterals.is_empty() {
        return Err(DevnetError::Setup("at least one collateral asset is needed".into()));
    }

    let usd = TestToken::deploy(provider, "USD".into(), "USD".into())
        .await
        .map_err(|error| chain.error("deploy USD token", error))?;
    let router =
        OracleRouter::deploy(provider, admin).await.map_err(|error| chain.error("deploy OracleRouter", error))?;
    let oracle = &parameters.oracle;
    let config = OracleRouter::AssetConfig {
        maxStaleness: oracle.max_staleness,
        anomalyCooldown: oracle.anomaly_cooldown,
        maxDeviationWad: oracle.max_deviation_wad,
        maxJumpWad: oracle.max_jump_wad,
        volatilityTimeConstant: oracle.volatility_time_constant,
    };
    let mut collaterals = Vec::new();
    for spec in &parameters.collaterals {
        let token = TestToken::deploy(provider, spec.name.clone(), spec.symbol.clone())
            .await
            .map_err(|error| chain.error(&format!("deploy {} token", spec.symbol), error))?;
        let mut feeds = Vec::new();
        for _ in 0..spec.feeds {
            let feed = MockPriceFeed::deploy(provider, FEED_DECIMALS, feed_answer(spec.initial_price))
                .await
                .map_err(|error| chain.error(&format!("deploy {} price feed", spec.symbol), error))?;
            feeds.push(*feed.address());
        }
        chain
            .confirm(
                &format!("router.setAsset({})", spec.symbol),
                router
                    .setAsset(*token.address(), feeds.clone(), config.clone(), U256::from(spec.initial_volatility_wad))
                    .gas(ORACLE_CALL_GAS)
                    .send()
                    .await,
            )
            .await?;
        collaterals.push(DeployedCollateral { symbol: spec.symbol.clone(), token: *token.address(), feeds });
    }

    let (engine, insurance_fund) =
        deploy_engine(chain, parameters, *usd.address(), *router.address(), &collaterals).await?;
    let engine = MarginEngine::new(engine, provider);

    let settlement = LiquidationSettlement::deploy(provider, admin, attesters, U256::from(threshold))
        .await
        .map_err(|error| chain.error("deploy LiquidationSettlement", error))?;
    chain.confirm("engine.setSettlement", engine.setSettlement(*settlement.address()).send().await).await?;
    let solver_registry = SolverRegistry::deploy(provider, U256::from(SOLVER_BOND_WEI), SOLVER_EXIT_DELAY_SECS)
        .await
        .map_err(|error| chain.error("deploy SolverRegistry", error))?;
    chain
        .confirm(
            "settlement.registerMarket",
            settlement
                .registerMarket(*engine.address(), insurance_fund, U256::from(parameters.reserve_premium))
                .send()
                .await,
        )
        .await?;
    chain
        .confirm(
            "mint engine liquidity",
            usd.mint(*engine.address(), U256::from(parameters.engine_liquidity)).send().await,
        )
        .await?;
    for executor in executors {
        chain.fund_gas(*executor).await?;
        chain
            .confirm("mint executor float", usd.mint(*executor, U256::from(parameters.executor_float)).send().await)
            .await?;
    }

    Ok(Deployment {
        admin,
        usd: *usd.address(),
        collaterals,
        oracle_router: *router.address(),
        engine: *engine.address(),
        insurance_fund,
        settlement: *settlement.address(),
        solver_registry: *solver_registry.address(),
        market_id: backstop_protocol::id::market_id(*engine.address()),
        beneficiary: insurance_fund,
        deploy_block,
    })
}

/// Deploys a `MarginEngine` (which deploys its `InsuranceFund`) over the given debt token and
/// router and lists every collateral with its risk parameters. Returns (engine, insurance fund).
pub async fn deploy_engine(
    chain: &LocalChain,
    parameters: &MarketParameters,
    usd: Address,
    router: Address,
    collaterals: &[DeployedCollateral],
) -> Result<(Address, Address), DevnetError> {
    let provider = &chain.provider;
    let admin = chain.deployer_address();
    let risk = MarginEngine::RiskParams {
        maintenanceRatioWad: U256::from(parameters.maintenance_ratio_wad),
        initialMarginRatioWad: U256::from(parameters.initial_margin_ratio_wad),
        closeFactorWad: U256::from(parameters.close_factor_wad),
        fullLiquidationHealthWad: U256::from(parameters.full_liquidation_health_wad),
        dustDebt: U256::from(parameters.dust_debt),
    };
    let engine = MarginEngine::deploy(provider, admin, usd, router, risk)
        .await
        .map_err(|error| chain.error("deploy MarginEngine", error))?;
    for (spec, deployed) in parameters.collaterals.iter().zip(collaterals) {
        let params = MarginEngine::CollateralParams {
            baseHaircutWad: spec.base_haircut_wad,
            volatilityMultiplierWad: spec.volatility_multiplier_wad,
            maxHaircutWad: spec.max_haircut_wad,
            liquidationBonusWad: spec.liquidation_bonus_wad,
        };
        chain
            .confirm(
                &format!("engine.addCollateral({})", spec.symbol),
                engine.addCollateral(deployed.token, params).gas(ORACLE_CALL_GAS).send().await,
            )
            .await?;
    }
    let insurance_fund =
        engine.insuranceFund().call().await.map_err(|error| chain.error("engine.insuranceFund", error))?;

    Ok((*engine.address(), insurance_fund))
}

/// Opens one account per profile: mint each collateral, approve, deposit, then borrow.
pub async fn open_positions(
    chain: &LocalChain,
    deployment: &Deployment,
    parameters: &MarketParameters,
    accounts: &[(EvmKey, PositionProfile)],
) -> Result<Vec<Position>, DevnetError> {
    let engine = MarginEngine::new(deployment.engine, &chain.provider);
    let mut positions = Vec::new();
    for (key, profile) in accounts {
        let account = key.address();
        let debt = profile.debt(parameters);
        chain.fund_gas(account).await?;
        let mut collateral = Vec::new();
        for (index, deployed) in deployment.collaterals.iter().enumerate() {
            let amount = profile.collateral(index);
            collateral.push((deployed.token, amount));
            if amount.is_zero() {
                continue;
            }
            let token = TestToken::new(deployed.token, &chain.provider);
            let step = |what: &str| format!("{what} {}", deployed.symbol);
            chain.confirm(&step("mint"), token.mint(account, amount).send().await).await?;
            chain
                .confirm(&step("approve"), token.approve(deployment.engine, amount).from(account).send().await)
                .await?;
            chain
                .confirm(
                    &step("deposit"),
                    engine.deposit(deployed.token, amount).from(account).gas(ORACLE_CALL_GAS).send().await,
                )
                .await?;
        }
        if !debt.is_zero() {
            chain.confirm("borrow", engine.borrow(debt).from(account).gas(ORACLE_CALL_GAS).send().await).await?;
        }
        positions.push(Position { key: key.clone(), profile: profile.clone(), collateral, debt });
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_list_an_amount_per_collateral_and_stay_above_water_after_a_quarter_drop() {
        let parameters = MarketParameters::default();
        for profile in default_profiles() {
            assert_eq!(profile.collateral_milli.len(), parameters.collaterals.len(), "{profile:?}");
            // Market value after -25% must cover the debt with the largest bonus on top
            // (no shortfall for the insurance fund to absorb).
            let after = profile.market_value(&parameters) * U256::from(7_500u32) / U256::from(10_000u32);
            let debt = profile.debt(&parameters);
            assert!(after * U256::from(1_000u32) > debt * U256::from(1_070u32), "{profile:?}");
        }
    }

    #[test]
    fn the_mixed_profile_values_both_assets() {
        let parameters = MarketParameters::default();
        let profile = PositionProfile { collateral_milli: vec![4_000, 200], collateral_ratio_bps: 15_000 };
        assert_eq!(profile.market_value(&parameters), U256::from(20_000 * WAD));
        assert_eq!(profile.debt(&parameters), U256::from(20_000 * WAD) * U256::from(2u8) / U256::from(3u8));
    }

    #[test]
    fn a_drop_in_steps_ends_at_the_dropped_price() {
        assert_eq!(step_prices(2_000, 2_500, 3), vec![1_833, 1_666, 1_500]);
        assert_eq!(step_prices(2_000, 2_500, 0), vec![1_500]);
        assert_eq!(dropped_price(2_000, 20_000), 0);
    }
}
