use alloy::primitives::U256;
use backstop_bindings::{UniswapV2Factory, UniswapV2Pair};
use backstop_devnet::dex::{DexSettings, Rebalance};
use backstop_devnet::{Devnet, MarketParameters};

const WAD: u128 = 1_000_000_000_000_000_000;
const FEED_TO_WAD: u128 = 10_000_000_000;

/// Within `bps` basis points of `expected`.
fn close(actual: U256, expected: U256, bps: u64) -> bool {
    let gap = if actual > expected { actual - expected } else { expected - actual };
    gap * U256::from(10_000u64) <= expected * U256::from(bps)
}

#[tokio::test]
async fn pools_open_at_the_oracle_price_and_arbitrage_follows_the_feed() {
    let parameters = MarketParameters {
        dex: DexSettings { depth_usd_per_pool: 1_000_000, ..Default::default() },
        ..Default::default()
    };
    let devnet =
        Devnet::builder().chains(1).nodes(0).threshold(1).solvers(&[]).parameters(parameters).start().await.unwrap();
    let chain = &devnet.chains()[0];
    let dex = chain.dex().unwrap();
    let provider = &chain.chain.provider;
    let factory = UniswapV2Factory::new(chain.dex.factory, provider);
    assert_eq!(chain.dex.pools.len(), devnet.parameters().collaterals.len(), "a pool per collateral");

    for (pool, spec) in chain.dex.pools.iter().zip(&devnet.parameters().collaterals) {
        assert_eq!(factory.getPair(pool.asset, chain.deployment.usd).call().await.unwrap(), pool.pair);
        let oracle = U256::from(spec.initial_price * FEED_TO_WAD);
        assert!(close(dex.pool_price(pool.asset).await.unwrap(), oracle, 1), "{} opens at the oracle", pool.symbol);
        let reserves = dex.reserves(pool.asset).await.unwrap();
        assert!(close(reserves.reserve_out, U256::from(1_000_000 * WAD), 1), "finite, configured depth");
        // Selling 1% of the depth costs the fee and about 1% of impact: a real exit price.
        let units = reserves.reserve_in / U256::from(100u8);
        let proceeds = dex.quote_sell(pool.asset, units).await.unwrap();
        let at_oracle = units * oracle / U256::from(WAD);
        assert!(proceeds < at_oracle * U256::from(9_880u32) / U256::from(10_000u32), "slippage: {proceeds}");
        assert!(proceeds > at_oracle * U256::from(9_850u32) / U256::from(10_000u32), "but not more: {proceeds}");
    }

    // Every pool follows a 10% drop of its feed (token0 is the asset in one pair, USD in the other).
    for (pool, spec) in chain.dex.pools.iter().zip(&devnet.parameters().collaterals) {
        let dropped = spec.initial_price * 9 / 10;
        dex.arbitrage_to(pool.asset, dropped, 10_000).await.unwrap();
        let landed = dex.pool_price(pool.asset).await.unwrap();
        assert!(close(landed, U256::from(dropped * FEED_TO_WAD), 10), "{} follows its feed: {landed}", pool.symbol);
        dex.arbitrage_to(pool.asset, spec.initial_price, 10_000).await.unwrap();
    }

    let weth = chain.dex.pools[0].asset;
    let start = devnet.parameters().collaterals[0].initial_price;
    // A 20% crash, arbitraged with lag: half the way, then all of it.
    let crashed = start * 8 / 10;
    let half = dex.arbitrage_to(weth, crashed, 5_000).await.unwrap();
    assert!(matches!(half, Rebalance::SellAsset(_)), "a crash sells the asset: {half:?}");
    let halfway = U256::from((start + crashed) / 2 * FEED_TO_WAD);
    assert!(close(dex.pool_price(weth).await.unwrap(), halfway, 10), "lagging arbitrage stops half way");
    dex.arbitrage_to(weth, crashed, 10_000).await.unwrap();
    assert!(close(dex.pool_price(weth).await.unwrap(), U256::from(crashed * FEED_TO_WAD), 10), "then catches up");
    // And back up: the arbitrageur buys the asset.
    let rebound = dex.arbitrage_to(weth, start, 10_000).await.unwrap();
    assert!(matches!(rebound, Rebalance::SellUsd(_)), "{rebound:?}");
    assert!(close(dex.pool_price(weth).await.unwrap(), U256::from(start * FEED_TO_WAD), 10));

    // Draining 90% of the liquidity keeps the price and multiplies the slippage.
    let units = U256::from(10 * WAD);
    let deep = dex.quote_sell(weth, units).await.unwrap();
    let price_before = dex.pool_price(weth).await.unwrap();
    let depth_before = dex.reserves(weth).await.unwrap().reserve_out;
    dex.drain(weth, 9_000).await.unwrap();
    let thin = dex.quote_sell(weth, units).await.unwrap();
    assert!(close(dex.pool_price(weth).await.unwrap(), price_before, 1), "draining does not move the price");
    assert!(thin < deep, "thin pool pays less: {thin} vs {deep}");
    let depth_after = dex.reserves(weth).await.unwrap().reserve_out;
    assert!(close(depth_after * U256::from(10u8), depth_before, 1), "a tenth of the depth is left: {depth_after}");
    let pair = UniswapV2Pair::new(chain.dex.pools[0].pair, provider);
    assert!(
        !pair.balanceOf(chain.dex.liquidity_provider).call().await.unwrap().is_zero(),
        "the provider keeps the rest"
    );
}
