//! The devnet market on one chain: tokens, price feed, MarginEngine and
//! LiquidationSettlement, wired and registered; then accounts opened at chosen leverage.
//!
//! The health math here mirrors `MarginEngine` exactly (same rounding), so the devnet can
//! say in advance which accounts a price drop puts under maintenance.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use backstop_protocol::bindings::{LiquidationSettlement, MarginEngine, MockPriceFeed, TestToken};
use serde::Serialize;

use crate::chain::LocalChain;
use crate::keys::EvmKey;
use crate::DevnetError;

pub const WAD: u128 = 1_000_000_000_000_000_000;
/// The devnet feed reports 8 decimals, like Chainlink's USD feeds.
pub const FEED_DECIMALS: u8 = 8;
const FEED_SCALE: u128 = 10_000_000_000; // 1e18 / 1e8

/// Risk and market settings the devnet deploys with.
#[derive(Debug, Clone, Serialize)]
pub struct MarketParameters {
    /// USD per WETH at start, 8 decimals.
    pub initial_price: u128,
    pub maintenance_ratio_wad: u128,
    pub liquidation_bonus_wad: u128,
    pub close_factor_wad: u128,
    /// Smallest premium the settlement accepts, USD wei.
    pub reserve_premium: u128,
    /// USD the engine holds to lend.
    pub engine_liquidity: u128,
    /// USD each solver executor starts with (repays and premiums).
    pub executor_float: u128,
}

impl Default for MarketParameters {
    fn default() -> Self {
        Self {
            initial_price: 2_000 * 100_000_000,
            maintenance_ratio_wad: 1_100_000_000_000_000_000,
            liquidation_bonus_wad: 50_000_000_000_000_000,
            close_factor_wad: 500_000_000_000_000_000,
            reserve_premium: 1_000_000_000_000_000,
            engine_liquidity: 10_000_000 * WAD,
            executor_float: 1_000_000 * WAD,
        }
    }
}

/// How one account is opened: collateral posted and the collateral-to-debt ratio at the
/// initial price (basis points; the engine's initial margin is 1.25 = 12_500).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PositionProfile {
    pub collateral_weth: u64,
    pub collateral_ratio_bps: u32,
}

/// Six accounts from aggressive to conservative. After a 25% drop the first three sit
/// between 1.05 and 1.10 (under maintenance, above water, and each liquidation improves
/// them); the last three stay healthy. `tests` below pins this down.
pub fn default_profiles() -> Vec<PositionProfile> {
    [(5, 14_100), (8, 14_400), (10, 14_600), (12, 15_500), (15, 19_000), (20, 28_000)]
        .into_iter()
        .map(|(collateral_weth, collateral_ratio_bps)| PositionProfile { collateral_weth, collateral_ratio_bps })
        .collect()
}

impl PositionProfile {
    pub fn collateral(&self) -> U256 {
        U256::from(self.collateral_weth) * U256::from(WAD)
    }

    /// Debt borrowed at `feed_price` (8 decimals): value / ratio, rounded down so the
    /// account is never below its profile.
    pub fn debt(&self, feed_price: u128) -> U256 {
        collateral_value(self.collateral(), feed_price) * U256::from(10_000u32) / U256::from(self.collateral_ratio_bps)
    }
}

/// Collateral value in USD wei, rounded down (engine: `mulWadDown`).
pub fn collateral_value(collateral: U256, feed_price: u128) -> U256 {
    collateral * U256::from(feed_price) * U256::from(FEED_SCALE) / U256::from(WAD)
}

/// `MarginEngine.isLiquidatable` for given balances and price.
pub fn is_liquidatable(collateral: U256, debt: U256, feed_price: u128, maintenance_ratio_wad: u128) -> bool {
    let wad = U256::from(WAD);
    let requirement = (debt * U256::from(maintenance_ratio_wad)).div_ceil(wad);
    !debt.is_zero() && collateral_value(collateral, feed_price) < requirement
}

/// A feed price as the feed's `int256` answer (devnet prices are far below 2^255).
pub fn feed_answer(feed_price: u128) -> alloy::primitives::I256 {
    alloy::primitives::I256::from_raw(U256::from(feed_price))
}

/// The price after a drop of `drop_bps` basis points.
pub fn dropped_price(feed_price: u128, drop_bps: u32) -> u128 {
    feed_price * u128::from(10_000 - drop_bps.min(10_000)) / 10_000
}

/// Addresses of one chain's deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub admin: Address,
    pub usd: Address,
    pub weth: Address,
    pub feed: Address,
    pub engine: Address,
    pub settlement: Address,
    pub market_id: B256,
    /// The insurance fund: receives every premium.
    pub beneficiary: Address,
    pub deploy_block: u64,
}

/// An opened account.
#[derive(Clone)]
pub struct Position {
    pub key: EvmKey,
    pub profile: PositionProfile,
    pub collateral: U256,
    pub debt: U256,
}

impl Position {
    pub fn address(&self) -> Address {
        self.key.address()
    }
}

/// Deploys tokens, feed, engine and settlement, wires them and registers the market.
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

    let usd = TestToken::deploy(provider, "USD".into(), "USD".into())
        .await
        .map_err(|error| chain.error("deploy USD token", error))?;
    let weth = TestToken::deploy(provider, "Wrapped Ether".into(), "WETH".into())
        .await
        .map_err(|error| chain.error("deploy WETH token", error))?;
    let feed = MockPriceFeed::deploy(provider, FEED_DECIMALS, feed_answer(parameters.initial_price))
        .await
        .map_err(|error| chain.error("deploy price feed", error))?;
    let engine = MarginEngine::deploy(
        provider,
        admin,
        *usd.address(),
        *weth.address(),
        *feed.address(),
        U256::from(parameters.maintenance_ratio_wad),
        U256::from(parameters.liquidation_bonus_wad),
        U256::from(parameters.close_factor_wad),
    )
    .await
    .map_err(|error| chain.error("deploy MarginEngine", error))?;
    let settlement = LiquidationSettlement::deploy(provider, admin, attesters, U256::from(threshold))
        .await
        .map_err(|error| chain.error("deploy LiquidationSettlement", error))?;

    chain.confirm("engine.setSettlement", engine.setSettlement(*settlement.address()).send().await).await?;
    let beneficiary = PrivateKeySigner::random().address();
    chain
        .confirm(
            "settlement.registerMarket",
            settlement
                .registerMarket(*engine.address(), beneficiary, U256::from(parameters.reserve_premium))
                .send()
                .await,
        )
        .await?;
    chain
        .confirm("mint engine liquidity", usd.mint(*engine.address(), U256::from(parameters.engine_liquidity)).send().await)
        .await?;
    for executor in executors {
        chain.fund_gas(*executor).await?;
        chain.confirm("mint executor float", usd.mint(*executor, U256::from(parameters.executor_float)).send().await).await?;
    }

    Ok(Deployment {
        admin,
        usd: *usd.address(),
        weth: *weth.address(),
        feed: *feed.address(),
        engine: *engine.address(),
        settlement: *settlement.address(),
        market_id: backstop_protocol::id::market_id(*engine.address()),
        beneficiary,
        deploy_block,
    })
}

/// Opens one account per profile: mint WETH, approve, deposit, borrow.
pub async fn open_positions(
    chain: &LocalChain,
    deployment: &Deployment,
    parameters: &MarketParameters,
    accounts: &[(EvmKey, PositionProfile)],
) -> Result<Vec<Position>, DevnetError> {
    let weth = TestToken::new(deployment.weth, &chain.provider);
    let engine = MarginEngine::new(deployment.engine, &chain.provider);
    let mut positions = Vec::new();
    for (key, profile) in accounts {
        let account = key.address();
        let collateral = profile.collateral();
        let debt = profile.debt(parameters.initial_price);
        chain.fund_gas(account).await?;
        chain.confirm("mint collateral", weth.mint(account, collateral).send().await).await?;
        chain.confirm("approve collateral", weth.approve(deployment.engine, collateral).from(account).send().await).await?;
        chain.confirm("deposit", engine.deposit(collateral).from(account).send().await).await?;
        chain.confirm("borrow", engine.borrow(debt).from(account).send().await).await?;
        positions.push(Position { key: key.clone(), profile: *profile, collateral, debt });
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_drop_puts_exactly_the_three_most_leveraged_under_maintenance() {
        let parameters = MarketParameters::default();
        let crashed = dropped_price(parameters.initial_price, 2_500);
        let under: Vec<bool> = default_profiles()
            .iter()
            .map(|profile| {
                let debt = profile.debt(parameters.initial_price);
                assert!(
                    !is_liquidatable(profile.collateral(), debt, parameters.initial_price, parameters.maintenance_ratio_wad),
                    "every account opens healthy"
                );
                is_liquidatable(profile.collateral(), debt, crashed, parameters.maintenance_ratio_wad)
            })
            .collect();
        assert_eq!(under, [true, true, true, false, false, false]);
    }

    #[test]
    fn under_water_accounts_stay_above_one_plus_bonus_so_liquidation_helps() {
        let parameters = MarketParameters::default();
        let crashed = dropped_price(parameters.initial_price, 2_500);
        for profile in default_profiles() {
            let debt = profile.debt(parameters.initial_price);
            let value = collateral_value(profile.collateral(), crashed);
            let bonus_line = debt * U256::from(WAD + parameters.liquidation_bonus_wad) / U256::from(WAD);
            assert!(value > bonus_line, "{profile:?} would sink deeper with each liquidation");
        }
    }

    #[test]
    fn every_profile_respects_initial_margin() {
        for profile in default_profiles() {
            assert!(profile.collateral_ratio_bps > 12_500, "{profile:?}");
        }
    }
}
