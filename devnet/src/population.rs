//! A population of margin accounts, opened in bulk through the `PositionFactory`
//! contract (each account is a small contract that mints, deposits and borrows in its
//! constructor), so thousands of accounts cost a handful of transactions. Leverage,
//! size and collateral mix are drawn from a seeded distribution: the same seed opens the
//! same book.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use backstop_bindings::{PositionFactory, TestToken};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::chain::LocalChain;
use crate::market::{market_value, Deployment, MarketParameters};
use crate::DevnetError;

/// Gas one account costs the factory (contract creation, mints, deposits, a borrow that
/// updates the oracle), with room to spare.
const GAS_PER_ACCOUNT: u64 = 700_000;

/// How the population is drawn.
#[derive(Debug, Clone)]
pub struct PopulationSpec {
    pub accounts: usize,
    pub seed: u64,
    /// Market value / debt at the initial prices, basis points: drawn between these,
    /// skewed towards the low (leveraged) end.
    pub min_ratio_bps: u32,
    pub max_ratio_bps: u32,
    /// Market value of an account's collateral, whole USD.
    pub min_value_usd: u64,
    pub max_value_usd: u64,
}

impl PopulationSpec {
    pub fn new(accounts: usize, seed: u64) -> Self {
        // The engine's initial margin (1.25 on haircut value) needs about 1.35 at the
        // starting haircuts; 1.4 leaves room for the oracle's drift between blocks.
        Self {
            accounts,
            seed,
            min_ratio_bps: 14_000,
            max_ratio_bps: 40_000,
            min_value_usd: 1_000,
            max_value_usd: 100_000,
        }
    }
}

/// One drawn account: token units per listed collateral and the debt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    pub units: Vec<U256>,
    pub debt: U256,
}

/// The seeded draws of a population (pure: the devnet tests check the distribution).
pub fn draw(spec: &PopulationSpec, parameters: &MarketParameters) -> Vec<Draw> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let width = parameters.collaterals.len();
    (0..spec.accounts)
        .map(|_| {
            let value_usd = rng.gen_range(spec.min_value_usd..=spec.max_value_usd);
            // One asset, or a mix.
            let weights: Vec<u32> = (0..width)
                .map(|index| if index == 0 || rng.gen_bool(0.5) { rng.gen_range(1..=100) } else { 0 })
                .collect();
            let total: u32 = weights.iter().sum::<u32>().max(1);
            let units: Vec<U256> = parameters
                .collaterals
                .iter()
                .zip(&weights)
                .map(|(spec, weight)| {
                    // value share in USD wei / price per whole token (8 decimals) -> token wei.
                    let share =
                        U256::from(value_usd) * U256::from(*weight) * U256::from(10u128.pow(18)) / U256::from(total);
                    share * U256::from(100_000_000u64) / U256::from(spec.initial_price)
                })
                .collect();
            let value = units
                .iter()
                .zip(&parameters.collaterals)
                .fold(U256::ZERO, |sum, (units, spec)| sum + market_value(*units, spec.initial_price));
            // Skewed towards leverage: the square of a uniform draw.
            let u: f64 = rng.gen();
            let span = f64::from(spec.max_ratio_bps - spec.min_ratio_bps);
            let ratio_bps = spec.min_ratio_bps + (u * u * span) as u32;
            Draw { units, debt: value * U256::from(10_000u32) / U256::from(ratio_bps) }
        })
        .collect()
}

/// Opens the population on `chain`; returns the accounts' addresses in draw order.
pub async fn open(
    chain: &LocalChain,
    deployment: &Deployment,
    parameters: &MarketParameters,
    spec: &PopulationSpec,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Address>, DevnetError> {
    let draws = draw(spec, parameters);
    if draws.is_empty() {
        return Ok(Vec::new());
    }
    // The engine lends what the population borrows.
    let borrowed = draws.iter().fold(U256::ZERO, |sum, draw| sum + draw.debt);
    let usd = TestToken::new(deployment.usd, &chain.provider);
    chain.confirm("mint population liquidity", usd.mint(deployment.engine, borrowed).send().await).await?;
    let factory =
        PositionFactory::deploy(&chain.provider).await.map_err(|error| chain.error("deploy PositionFactory", error))?;
    let block = chain
        .provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|error| chain.error("read the gas limit", error))?
        .ok_or_else(|| chain.error("read the gas limit", "no latest block"))?;
    let per_tx = usize::try_from(block.header.gas_limit / 10 * 9 / GAS_PER_ACCOUNT).unwrap_or(1).clamp(1, 2_000);
    let assets: Vec<Address> = deployment.collaterals.iter().map(|collateral| collateral.token).collect();
    let mut accounts = Vec::with_capacity(draws.len());
    for batch in draws.chunks(per_tx) {
        let amounts: Vec<U256> = batch.iter().flat_map(|draw| draw.units.iter().copied()).collect();
        let debts: Vec<U256> = batch.iter().map(|draw| draw.debt).collect();
        let gas = GAS_PER_ACCOUNT * batch.len() as u64 + 500_000;
        let receipt = chain
            .confirm(
                "open population batch",
                factory.open(deployment.engine, assets.clone(), amounts, debts).gas(gas).send().await,
            )
            .await?;
        for log in receipt.inner.logs() {
            if let Ok(event) = log.log_decode::<PositionFactory::AccountOpened>() {
                accounts.push(event.inner.data.account);
            }
        }
        progress(accounts.len());
    }
    if accounts.len() != draws.len() {
        return Err(DevnetError::Setup(format!("opened {} of {} accounts", accounts.len(), draws.len())));
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_book_and_every_account_can_borrow_its_debt() {
        let parameters = MarketParameters::default();
        let spec = PopulationSpec::new(500, 7);
        let first = draw(&spec, &parameters);
        assert_eq!(first, draw(&spec, &parameters));
        assert_ne!(first, draw(&PopulationSpec::new(500, 8), &parameters));
        for account in &first {
            let value = account
                .units
                .iter()
                .zip(&parameters.collaterals)
                .fold(U256::ZERO, |sum, (units, spec)| sum + market_value(*units, spec.initial_price));
            assert!(value * U256::from(10_000u32) >= account.debt * U256::from(spec.min_ratio_bps), "{account:?}");
            assert!(!account.debt.is_zero());
        }
        let leveraged = first.iter().filter(|account| {
            let value = market_value(account.units[0], parameters.collaterals[0].initial_price)
                + market_value(account.units[1], parameters.collaterals[1].initial_price);
            value * U256::from(10_000u32) < account.debt * U256::from(20_000u32)
        });
        assert!(leveraged.count() > 100, "the draw is skewed towards leverage");
    }
}
