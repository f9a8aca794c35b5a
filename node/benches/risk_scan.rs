//! The risk engine's scan: every account of one market judged after a price change, on
//! one core. Target (issue #13): 1,000,000 accounts in under 50 ms.
//!
//! `cargo bench -p backstop-node --bench risk_scan` prints the figures: the scan as the
//! node runs it after a 20% crash (fast filter, exact model near the line), the same scan
//! on a calm block, the exact model on every account for comparison, and how many
//! accounts each found liquidatable (they must agree).

use std::time::Instant;

use alloy::primitives::{Address, B256, U256};
use backstop_node::risk::book::EngineBook;
use backstop_node::risk::engine::{AssetView, CollateralTerms, EngineModel, Quote, RiskParams};
use backstop_node::risk::math::WAD;
use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ACCOUNTS: usize = 1_000_000;

fn wad_milli(milli: u64) -> U256 {
    U256::from(milli) * U256::from(1_000_000_000_000_000u64)
}

/// WETH (18 decimals) and WBTC (8 decimals) against an 18-decimal USD debt, the devnet's terms.
fn model(weth_usd: u64, wbtc_usd: u64, volatility_milli: u64) -> EngineModel {
    let terms = [
        (Address::repeat_byte(1), 20, 50, WAD, weth_usd),
        (Address::repeat_byte(2), 50, 60, U256::from(100_000_000u64), wbtc_usd),
    ];
    EngineModel {
        risk: RiskParams {
            maintenance_ratio_wad: wad_milli(1_100),
            close_factor_wad: wad_milli(500),
            full_liquidation_health_wad: wad_milli(900),
            dust_debt: wad_milli(10_000),
        },
        assets: terms
            .into_iter()
            .map(|(asset, base_haircut, bonus, price_scale, usd)| {
                let terms = CollateralTerms {
                    asset,
                    base_haircut_wad: wad_milli(base_haircut),
                    volatility_multiplier_wad: wad_milli(2_500),
                    max_haircut_wad: wad_milli(300),
                    liquidation_bonus_wad: wad_milli(bonus),
                    price_scale,
                };
                let quote =
                    Quote::Priced { price_wad: wad_milli(usd * 1_000), volatility_wad: wad_milli(volatility_milli) };
                AssetView::new(&terms, quote).expect("valid terms")
            })
            .collect(),
    }
}

fn book(accounts: usize) -> EngineBook {
    let mut rng = StdRng::seed_from_u64(13);
    let mut book = EngineBook::new(2);
    for index in 0..accounts {
        let weth = U256::from(rng.gen_range(0u64..50_000)) * U256::from(1_000_000_000_000_000u64);
        let wbtc = U256::from(rng.gen_range(0u64..2_000_000)) * U256::from(100u64);
        // Market value at $2000/$60000, borrowed at 1.35x..4x collateralisation.
        let value = weth * U256::from(2_000u32) + wbtc * U256::from(60_000u32) * U256::from(10_000_000_000u64);
        let debt = value * U256::from(1_000u32) / U256::from(rng.gen_range(1_350u32..4_000));
        book.set(Address::from_word(B256::from(U256::from(index + 1))), &[weth, wbtc], debt);
    }
    book
}

fn scan(c: &mut Criterion) {
    let built = Instant::now();
    let book = book(ACCOUNTS);
    println!("built a book of {ACCOUNTS} accounts in {:.1} s", built.elapsed().as_secs_f64());
    // A 20% crash with volatility up: a real share of the book goes under.
    let crashed = model(1_600, 48_000, 40);
    let fast = book.scan(&crashed, &[], true, 0.05);
    let exact = book.scan_exact(&crashed);
    assert_eq!(fast.liquidatable.len(), exact.len(), "the fast scan finds what the exact model finds");
    println!(
        "after the price change: {} liquidatable, {} at risk, {} decided by the exact model",
        fast.liquidatable.len(),
        fast.at_risk.len(),
        fast.exact
    );

    let mut group = c.benchmark_group("risk_scan");
    group.sample_size(10);
    group.bench_function("1m_accounts_after_price_change", |bench| {
        bench.iter(|| book.scan(&crashed, &[], true, 0.05).liquidatable.len())
    });
    let calm = model(2_000, 60_000, 10);
    group.bench_function("1m_accounts_calm_block", |bench| {
        bench.iter(|| book.scan(&calm, &[], true, 0.05).liquidatable.len())
    });
    group.bench_function("1m_accounts_exact_u256_only", |bench| bench.iter(|| book.scan_exact(&crashed).len()));
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
