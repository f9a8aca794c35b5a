//! The Morpho Blue model's scan (issue #16): every borrower of one market judged after a
//! price change, on one core, with Morpho's share math and the pre-liquidation adapter's
//! band, close factor and incentive.
//!
//! `cargo bench -p backstop-node --bench morpho_scan` prints the figures: the scan as the
//! node runs it after a 15% fall (fast filter, exact model near the edges), the same
//! scan on a calm block, and the exact model on every borrower for comparison. The scan
//! and the exact model must find the same borrowers pre-liquidatable.

use std::time::Instant;

use alloy::primitives::{Address, B256, U256};
use backstop_node::risk::morpho::{
    Borrower, MarketParams, MarketState, MorphoBook, MorphoModel, PreLiquidationParams, ORACLE_PRICE_SCALE,
};
use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BORROWERS: usize = 1_000_000;
const E18: u128 = 1_000_000_000_000_000_000;
/// `SharesMathLib.VIRTUAL_SHARES`: a fresh market mints a million shares per asset.
const SHARES_PER_ASSET: u128 = 1_000_000;

fn wad_milli(milli: u64) -> U256 {
    U256::from(milli) * U256::from(1_000_000_000_000_000u64)
}

/// The devnet's market: LLTV 80%, preLltv 70%, LCF 0.2..0.8, LIF 1.02..1.05, both tokens
/// with 18 decimals, priced `loan_per_collateral`.
fn model(totals: MarketState, loan_per_collateral: u64) -> MorphoModel {
    MorphoModel {
        params: MarketParams {
            loan_token: Address::repeat_byte(1),
            collateral_token: Address::repeat_byte(2),
            oracle: Address::repeat_byte(3),
            irm: Address::ZERO,
            lltv: wad_milli(800),
        },
        pre: PreLiquidationParams {
            pre_lltv: wad_milli(700),
            pre_lcf1: wad_milli(200),
            pre_lcf2: wad_milli(800),
            pre_lif1: wad_milli(1_020),
            pre_lif2: wad_milli(1_050),
        },
        totals: Ok(totals),
        price: Some(U256::from(loan_per_collateral) * ORACLE_PRICE_SCALE),
        timestamp: 1_700_000_000,
    }
}

/// Borrowers at LTV 20%..79% at a price of 2,000, four in five opted in.
fn book(borrowers: usize) -> (MorphoBook, MarketState) {
    let mut rng = StdRng::seed_from_u64(16);
    let mut book = MorphoBook::default();
    let mut borrowed: u128 = 0;
    for index in 0..borrowers {
        let collateral = rng.gen_range(E18 / 10..50 * E18);
        // Value at 2,000 loan units per collateral, times an LTV of 0.200..0.790.
        let debt = collateral * 2 * rng.gen_range(200u128..790);
        borrowed += debt;
        let borrower =
            Borrower { borrow_shares: debt * SHARES_PER_ASSET, collateral, authorized: rng.gen_range(0..5) != 0 };
        book.set(Address::from_word(B256::from(U256::from(index + 1))), borrower);
    }
    let totals = MarketState {
        total_supply_assets: borrowed * 2,
        total_supply_shares: borrowed * 2 * SHARES_PER_ASSET,
        total_borrow_assets: borrowed,
        total_borrow_shares: borrowed * SHARES_PER_ASSET,
        last_update: 1_700_000_000,
        fee: 0,
    };
    (book, totals)
}

fn scan(c: &mut Criterion) {
    let built = Instant::now();
    let (book, totals) = book(BORROWERS);
    println!("built a Morpho book of {BORROWERS} borrowers in {:.1} s", built.elapsed().as_secs_f64());
    let crashed = model(totals, 1_700);
    let fast = book.scan(&crashed, &[], 0.05);
    let exact = book.scan_exact(&crashed);
    assert!(!exact.is_empty(), "the fall must put borrowers in the pre-liquidation band");
    assert_eq!(fast.liquidatable.len(), exact.len(), "the fast scan finds what the exact model finds");
    println!(
        "after a 15% fall: {} pre-liquidatable, {} beyond LLTV, {} at risk, {} decided by the exact model",
        fast.liquidatable.len(),
        fast.beyond_lltv,
        fast.at_risk.len(),
        fast.exact
    );

    let mut group = c.benchmark_group("morpho_scan");
    group.sample_size(10);
    group.bench_function("1m_borrowers_after_price_change", |bench| {
        bench.iter(|| book.scan(&crashed, &[], 0.05).liquidatable.len())
    });
    let calm = model(totals, 2_000);
    group.bench_function("1m_borrowers_calm_block", |bench| {
        bench.iter(|| book.scan(&calm, &[], 0.05).liquidatable.len())
    });
    group.bench_function("1m_borrowers_exact_u256_only", |bench| bench.iter(|| book.scan_exact(&crashed).len()));
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
