//! The devnet's DEX: Uniswap V2 (factory and pair bytecode as published in `@uniswap/v2-core`
//! 1.0.1) on every chain, one pool per collateral against the debt token, seeded by the
//! deployer at the oracle price with a finite depth. Seized collateral thus has a real exit
//! price with slippage, and a flash swap can finance a liquidation. Scenarios move pools with
//! the oracle through an arbitrageur account ([`Dex::arbitrage_to`], with lag) and thin them
//! ([`Dex::drain`]). The swap math is the SDK's (`backstop_solver_sdk::dex`), shared with bots.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::transports::http::reqwest::Url;
use backstop_bindings::{TestToken, UniswapV2Factory, UniswapV2Pair};
use backstop_solver_sdk::dex::Reserves;
use serde::Serialize;

use crate::chain::LocalChain;
use crate::keys::EvmKey;
use crate::market::{Deployment, MarketParameters, WAD};
use crate::DevnetError;

/// Feed prices have 8 decimals; pool prices are WAD.
const FEED_TO_WAD: u128 = 10_000_000_000;
const BPS: u32 = 10_000;

/// How deep the devnet's pools are.
#[derive(Debug, Clone, Serialize)]
pub struct DexSettings {
    /// USD (whole dollars) on each side of every pool at the start: the pool holds this much
    /// of the debt token and this much worth of the collateral at its initial price.
    /// Selling x dollars of collateral into it costs about x / depth of price impact, plus
    /// the 0.3% fee.
    pub depth_usd_per_pool: u128,
    /// How far the arbitrageur moves each pool toward each scenario price step, basis points
    /// of the gap (10,000: all the way; less models arbitrage lag).
    pub arbitrage_fraction_bps: u32,
}

impl Default for DexSettings {
    /// $2M a side: the demo's liquidations (a few $10k) pay about 1% in fee and impact;
    /// pools follow the oracle fully at every step.
    fn default() -> Self {
        Self { depth_usd_per_pool: 2_000_000, arbitrage_fraction_bps: 10_000 }
    }
}

/// Arbitrages every collateral's pool on `chain` toward its new feed price (`prices` in
/// the order of the deployment's collaterals, 8 decimals) by `fraction_bps` of the gap:
/// what the crash scenario calls at each step, just before the feeds publish it (the market
/// leads, the oracle follows). A pool the arbitrageur could not move is
/// reported and left as it is (a lagging DEX), never a failed scenario.
pub async fn follow_oracle(chain: &crate::DevnetChain, prices: &[u128], fraction_bps: u32) -> Result<(), DevnetError> {
    let dex = chain.dex()?;
    for (collateral, price) in chain.deployment.collaterals.iter().zip(prices) {
        if chain.dex.pool(collateral.token).is_none() {
            continue;
        }
        if let Err(error) = dex.arbitrage_to(collateral.token, *price, fraction_bps).await {
            eprintln!(
                "[devnet] chain {}: the {} pool lags the oracle: {error}",
                chain.chain.chain_id, collateral.symbol
            );
        }
    }
    Ok(())
}

/// Gas for the arbitrageur's swap, sent before the mint that funds it has landed (both go
/// in one block), so it cannot be estimated.
const ARBITRAGE_SWAP_GAS: u64 = 200_000;
const ARBITRAGE_MINT_GAS: u64 = 100_000;
/// Tries of one arbitrage trade (see [`Dex::arbitrage_to`]).
const ARBITRAGE_ATTEMPTS: u32 = 5;
/// The arbitrageur asks this much less than the exact quote (basis points of the output).
const ARBITRAGE_CUSHION_BPS: u32 = 20;

/// One chain's DEX, as written to the manifest so outside bots can find the pools.
#[derive(Debug, Clone, Serialize)]
pub struct DexDeployment {
    /// The `UniswapV2Factory`; `getPair(collateral, usd)` finds a pool.
    pub factory: Address,
    /// Holds every pool's liquidity tokens.
    pub liquidity_provider: Address,
    /// The account that trades pools toward the oracle ([`Dex::arbitrage_to`]).
    pub arbitrageur: Address,
    /// Its key (devnet only).
    pub arbitrageur_key: B256,
    pub pools: Vec<DexPool>,
}

/// A pool between one collateral and the debt token.
#[derive(Debug, Clone, Serialize)]
pub struct DexPool {
    pub symbol: String,
    pub asset: Address,
    pub pair: Address,
}

impl DexDeployment {
    pub fn pool(&self, asset: Address) -> Option<&DexPool> {
        self.pools.iter().find(|pool| pool.asset == asset)
    }
}

/// Deploys the factory, creates a pair per collateral against the USD debt token and seeds
/// each at the collateral's initial feed price with [`DexSettings::depth_usd_per_pool`].
pub async fn deploy(
    chain: &LocalChain,
    deployment: &Deployment,
    parameters: &MarketParameters,
) -> Result<DexDeployment, DevnetError> {
    let provider = &chain.provider;
    let deployer = chain.deployer_address();
    let factory = UniswapV2Factory::deploy(provider, deployer)
        .await
        .map_err(|error| chain.error("deploy UniswapV2Factory", error))?;
    let usd = TestToken::new(deployment.usd, provider);
    let depth_usd = U256::from(parameters.dex.depth_usd_per_pool) * U256::from(WAD);
    let mut pools = Vec::new();
    for (spec, collateral) in parameters.collaterals.iter().zip(&deployment.collaterals) {
        let step = |what: &str| format!("{what} {}/USD", collateral.symbol);
        chain.confirm(&step("createPair"), factory.createPair(collateral.token, deployment.usd).send().await).await?;
        let pair = factory
            .getPair(collateral.token, deployment.usd)
            .call()
            .await
            .map_err(|error| chain.error(&step("getPair"), error))?;
        // units = depth / price (both WAD-scaled): the pool opens at the oracle price.
        let units = (depth_usd * U256::from(WAD))
            .checked_div(U256::from(spec.initial_price) * U256::from(FEED_TO_WAD))
            .ok_or_else(|| chain.error(&step("seed"), "the collateral's initial price is zero"))?;
        let token = TestToken::new(collateral.token, provider);
        chain.confirm(&step("seed"), token.mint(pair, units).send().await).await?;
        chain.confirm(&step("seed"), usd.mint(pair, depth_usd).send().await).await?;
        chain.confirm(&step("mint liquidity"), UniswapV2Pair::new(pair, provider).mint(deployer).send().await).await?;
        pools.push(DexPool { symbol: collateral.symbol.clone(), asset: collateral.token, pair });
    }
    let arbitrageur = EvmKey::random();
    chain.fund_gas(arbitrageur.address()).await?;
    Ok(DexDeployment {
        factory: *factory.address(),
        liquidity_provider: deployer,
        arbitrageur: arbitrageur.address(),
        arbitrageur_key: arbitrageur.secret(),
        pools,
    })
}

/// A trade that moves a pool's price to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rebalance {
    /// The pool is at the target (or the trade would be dust).
    None,
    /// Sell this much of the collateral (the pool's price is above the target).
    SellAsset(U256),
    /// Sell this much of the debt token for collateral (the price is below the target).
    SellUsd(U256),
}

/// The trade that brings a pool with `asset_reserve` (r) and `usd_reserve` (R) to
/// `target_price_wad` (p, USD per whole token, both tokens with 18 decimals), fee included.
/// Selling g of the asset leaves `(r + g, 1000 r R / (1000 r + 997 g))`, so the price lands
/// on p when `997 g² + 1997 r g + 1000 r² = 1000 r R / p`:
/// `g = (sqrt(9 r² + 3,988,000 r R / p) − 1997 r) / 1994`; selling h of USD is the mirror
/// image, `h = (sqrt(9 R² + 3,988,000 R r p) − 1997 R) / 1994` (rounded down: the pool stops
/// just short of the target). `None` for an empty pool, a zero target or on overflow.
pub fn rebalance(asset_reserve: U256, usd_reserve: U256, target_price_wad: U256) -> Option<Rebalance> {
    if asset_reserve.is_zero() || usd_reserve.is_zero() || target_price_wad.is_zero() {
        return None;
    }
    let wad = U256::from(WAD);
    let current = usd_reserve.checked_mul(wad)? / asset_reserve;
    // Solves 997 x² + 1997 a x + 1000 a² = 1000 a b for the sold side's reserve a and
    // b = the other reserve expressed in the sold token at the target price.
    let solve = |sold_reserve: U256, other_in_sold: U256| -> Option<U256> {
        let discriminant = U256::from(9u8)
            .checked_mul(sold_reserve.checked_mul(sold_reserve)?)?
            .checked_add(U256::from(3_988_000u32).checked_mul(sold_reserve)?.checked_mul(other_in_sold)?)?;
        Some(
            discriminant.root(2).saturating_sub(U256::from(1_997u32).checked_mul(sold_reserve)?) / U256::from(1_994u32),
        )
    };
    if target_price_wad < current {
        // R / p: the USD reserve in asset units at the target.
        let amount = solve(asset_reserve, usd_reserve.checked_mul(wad)? / target_price_wad)?;
        Some(if amount.is_zero() { Rebalance::None } else { Rebalance::SellAsset(amount) })
    } else if target_price_wad > current {
        // r p: the asset reserve in USD at the target.
        let amount = solve(usd_reserve, asset_reserve.checked_mul(target_price_wad)? / wad)?;
        Some(if amount.is_zero() { Rebalance::None } else { Rebalance::SellUsd(amount) })
    } else {
        Some(Rebalance::None)
    }
}

/// `from + (to − from) × fraction_bps / 10⁴`: how far a lagging arbitrage moves the price.
pub fn lagged_price(from: U256, to: U256, fraction_bps: u32) -> U256 {
    let fraction = U256::from(fraction_bps.min(BPS));
    if to >= from {
        from + (to - from) * fraction / U256::from(BPS)
    } else {
        from - (from - to) * fraction / U256::from(BPS)
    }
}

/// The DEX of one running chain: quotes, prices and the scenario's levers.
pub struct Dex<'a> {
    chain: &'a LocalChain,
    deployment: &'a DexDeployment,
    usd: Address,
    arbitrageur: DynProvider,
}

impl<'a> Dex<'a> {
    pub fn new(chain: &'a LocalChain, market: &Deployment, deployment: &'a DexDeployment) -> Result<Self, DevnetError> {
        let signer = alloy::signers::local::PrivateKeySigner::from_bytes(&deployment.arbitrageur_key)
            .map_err(|error| chain.error("arbitrageur key", error))?;
        let url: Url = chain.rpc_url.parse().map_err(|error| chain.error("RPC URL", error))?;
        let arbitrageur = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url).erased();
        Ok(Self { chain, deployment, usd: market.usd, arbitrageur })
    }

    fn pair(&self, asset: Address) -> Result<Address, DevnetError> {
        self.deployment
            .pool(asset)
            .map(|pool| pool.pair)
            .ok_or_else(|| self.chain.error("find pool", format!("no pool for {asset}")))
    }

    /// The pool's reserves oriented for selling `asset` for USD.
    pub async fn reserves(&self, asset: Address) -> Result<Reserves, DevnetError> {
        let pair = UniswapV2Pair::new(self.pair(asset)?, &self.chain.provider);
        let token0 = pair.token0().call().await.map_err(|error| self.chain.error("token0", error))?;
        let reserves = pair.getReserves().call().await.map_err(|error| self.chain.error("getReserves", error))?;
        Ok(Reserves::for_sale(U256::from(reserves._reserve0), U256::from(reserves._reserve1), token0 == asset))
    }

    /// USD (wei) that selling `units` of `asset` yields now (Uniswap V2's formula, 0.3% fee).
    pub async fn quote_sell(&self, asset: Address, units: U256) -> Result<U256, DevnetError> {
        self.reserves(asset)
            .await?
            .amount_out(units)
            .ok_or_else(|| self.chain.error("quote_sell", "reserves overflow the quote"))
    }

    /// The pool's marginal price, USD per whole token, WAD.
    pub async fn pool_price(&self, asset: Address) -> Result<U256, DevnetError> {
        self.reserves(asset).await?.price_wad(18, 18).ok_or_else(|| self.chain.error("pool_price", "empty pool"))
    }

    /// The arbitrageur trades `asset`'s pool `fraction_bps` of the way from its price to
    /// `feed_price` (8 decimals; 10,000 = all the way, less models arbitrage lag). It mints
    /// what it sells (the devnet's tokens are faucets) into the pair and swaps. Returns the
    /// trade made.
    ///
    /// A liquidation that swaps in the same pool in the same block changes the reserves the
    /// trade was computed on, and the pair then refuses it (`UniswapV2: K`): the arbitrageur
    /// skims back what it minted and tries again with fresh reserves, up to five times. It asks
    /// 0.2% less than the exact quote, so the pool lands that close to the target, not on it.
    pub async fn arbitrage_to(
        &self,
        asset: Address,
        feed_price: u128,
        fraction_bps: u32,
    ) -> Result<Rebalance, DevnetError> {
        let mut attempt = 1;
        loop {
            match self.arbitrage_once(asset, feed_price, fraction_bps).await {
                Ok(trade) => return Ok(trade),
                Err(error) if attempt >= ARBITRAGE_ATTEMPTS => return Err(error),
                Err(error) => {
                    eprintln!("[devnet] arbitrage of {asset} retried ({attempt}/{ARBITRAGE_ATTEMPTS}): {error}");
                    let pair = UniswapV2Pair::new(self.pair(asset)?, &self.arbitrageur);
                    let me = self.deployment.arbitrageur;
                    let nonce = self.next_nonce().await?;
                    self.chain.confirm("arbitrage: skim", pair.skim(me).nonce(nonce).send().await).await?;
                    attempt += 1;
                }
            }
        }
    }

    async fn arbitrage_once(
        &self,
        asset: Address,
        feed_price: u128,
        fraction_bps: u32,
    ) -> Result<Rebalance, DevnetError> {
        let reserves = self.reserves(asset).await?;
        let current = reserves.price_wad(18, 18).ok_or_else(|| self.chain.error("arbitrage", "empty pool"))?;
        let target = lagged_price(current, U256::from(feed_price) * U256::from(FEED_TO_WAD), fraction_bps);
        let trade = rebalance(reserves.reserve_in, reserves.reserve_out, target)
            .ok_or_else(|| self.chain.error("arbitrage", "empty pool or zero price"))?;
        let pair_address = self.pair(asset)?;
        let pair = UniswapV2Pair::new(pair_address, &self.arbitrageur);
        let token0 = pair.token0().call().await.map_err(|error| self.chain.error("token0", error))?;
        let me = self.deployment.arbitrageur;
        let (sold, amount_in, amount_out, asset_out) = match trade {
            Rebalance::None => return Ok(trade),
            Rebalance::SellAsset(amount) => (asset, amount, reserves.amount_out(amount), false),
            Rebalance::SellUsd(amount) => {
                let usd_side = Reserves { reserve_in: reserves.reserve_out, reserve_out: reserves.reserve_in };
                (self.usd, amount, usd_side.amount_out(amount), true)
            }
        };
        // A cushion below the exact quote: a small trade landing first in the same block
        // (a liquidation selling into the pool) does not make the pair refuse this one.
        let amount_out = amount_out.ok_or_else(|| self.chain.error("arbitrage", "quote overflow"))?
            * U256::from(BPS - ARBITRAGE_CUSHION_BPS)
            / U256::from(BPS);
        if amount_out.is_zero() {
            return Ok(Rebalance::None);
        }
        let token = TestToken::new(sold, &self.arbitrageur);
        // The output token is the asset when we sold USD, else USD.
        let out_is_token0 = if asset_out { token0 == asset } else { token0 == self.usd };
        let (amount0, amount1) = if out_is_token0 { (amount_out, U256::ZERO) } else { (U256::ZERO, amount_out) };
        // Mint and swap are sent back to back with explicit consecutive nonces, so they land in
        // order (in one block when mining is paused for a price step) and the swap never
        // replaces the pending mint.
        let nonce = self.next_nonce().await?;
        let minted = token.mint(pair_address, amount_in).gas(ARBITRAGE_MINT_GAS).nonce(nonce).send().await;
        let swapped =
            pair.swap(amount0, amount1, me, Default::default()).gas(ARBITRAGE_SWAP_GAS).nonce(nonce + 1).send().await;
        self.chain.confirm("arbitrage: mint into the pair", minted).await?;
        self.chain.confirm("arbitrage: swap", swapped).await?;
        Ok(trade)
    }

    /// The arbitrageur's next nonce, counting its pending transactions (its transactions set
    /// nonces explicitly: see [`Dex::arbitrage_to`]).
    async fn next_nonce(&self) -> Result<u64, DevnetError> {
        self.arbitrageur
            .get_transaction_count(self.deployment.arbitrageur)
            .pending()
            .await
            .map_err(|error| self.chain.error("arbitrage: nonce", error))
    }

    /// The liquidity provider burns `bps` of its liquidity in `asset`'s pool: thinner depth,
    /// more slippage (the price is unchanged).
    pub async fn drain(&self, asset: Address, bps: u32) -> Result<(), DevnetError> {
        let pair_address = self.pair(asset)?;
        let pair = UniswapV2Pair::new(pair_address, &self.chain.provider);
        let provider_address = self.deployment.liquidity_provider;
        let held =
            pair.balanceOf(provider_address).call().await.map_err(|error| self.chain.error("LP balance", error))?;
        let burned = held * U256::from(bps.min(BPS)) / U256::from(BPS);
        if burned.is_zero() {
            return Ok(());
        }
        self.chain
            .confirm("drain: return liquidity", pair.transfer(pair_address, burned).from(provider_address).send().await)
            .await?;
        self.chain.confirm("drain: burn", pair.burn(provider_address).from(provider_address).send().await).await?;
        Ok(())
    }
}

impl crate::DevnetChain {
    /// This chain's DEX.
    pub fn dex(&self) -> Result<Dex<'_>, DevnetError> {
        Dex::new(&self.chain, &self.deployment, &self.dex)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn wad(whole: u64) -> U256 {
        U256::from(whole) * U256::from(WAD)
    }

    /// Applies `trade` to the pool with the SDK's Uniswap math; returns the new price.
    fn after(asset_reserve: U256, usd_reserve: U256, trade: Rebalance) -> U256 {
        let (asset_reserve, usd_reserve) = match trade {
            Rebalance::None => (asset_reserve, usd_reserve),
            Rebalance::SellAsset(amount) => {
                let out = Reserves { reserve_in: asset_reserve, reserve_out: usd_reserve }.amount_out(amount).unwrap();
                (asset_reserve + amount, usd_reserve - out)
            }
            Rebalance::SellUsd(amount) => {
                let out = Reserves { reserve_in: usd_reserve, reserve_out: asset_reserve }.amount_out(amount).unwrap();
                (asset_reserve - out, usd_reserve + amount)
            }
        };
        Reserves { reserve_in: asset_reserve, reserve_out: usd_reserve }.price_wad(18, 18).unwrap()
    }

    #[test]
    fn a_crash_sells_the_asset_into_the_pool() {
        // 1,000 WETH at $2000; the oracle says $1500.
        let trade = rebalance(wad(1_000), wad(2_000_000), wad(1_500)).unwrap();
        assert!(matches!(trade, Rebalance::SellAsset(amount) if amount > wad(150) && amount < wad(160)), "{trade:?}");
        assert_eq!(rebalance(wad(1_000), wad(2_000_000), wad(2_000)), Some(Rebalance::None));
        assert_eq!(rebalance(U256::ZERO, wad(1), wad(1)), None);
    }

    #[test]
    fn lag_moves_part_of_the_way() {
        assert_eq!(lagged_price(wad(2_000), wad(1_500), 5_000), wad(1_750));
        assert_eq!(lagged_price(wad(1_500), wad(2_000), 10_000), wad(2_000));
        assert_eq!(lagged_price(wad(1_500), wad(2_000), 0), wad(1_500));
        assert_eq!(lagged_price(wad(1_500), wad(2_000), 99_999), wad(2_000), "fraction capped at 1");
    }

    proptest! {
        /// Whatever the pool and target (within 10x), the trade lands within 0.01% of the target.
        #[test]
        fn rebalancing_lands_on_the_target(
            asset_whole in 10u64..1_000_000,
            price in 1u64..100_000,
            target_permille in 100u64..10_000,
        ) {
            let asset_reserve = wad(asset_whole);
            let usd_reserve = asset_reserve * U256::from(price);
            let target = wad(price) * U256::from(target_permille) / U256::from(1_000u32);
            prop_assume!(!target.is_zero());
            let trade = rebalance(asset_reserve, usd_reserve, target).unwrap();
            let landed = after(asset_reserve, usd_reserve, trade);
            let gap = if landed > target { landed - target } else { target - landed };
            prop_assert!(gap * U256::from(10_000u32) <= target, "landed {landed} for target {target}");
        }
    }
}
