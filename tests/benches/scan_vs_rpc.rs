//! The node's local risk scan against the per-account `eth_call` scan most liquidation
//! bots run, side by side on the same anvil chain with the same 10,000 accounts (issue
//! #13: target a ratio of at least 1000x). Prints the figures; asserts only that the
//! scans find the same liquidatable accounts.
//!
//! `cargo bench -p backstop-e2e --bench scan_vs_rpc` (`BACKSTOP_BENCH_ACCOUNTS` to resize).

use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use backstop_bindings::{IMarginMarket, MarginEngine, MockPriceFeed};
use backstop_devnet::market::{self, feed_answer, MarketParameters};
use backstop_devnet::population::{self, PopulationSpec};
use backstop_devnet::LocalChain;
use backstop_node::config::RiskConfig;
use backstop_node::risk::rpc::{call_each, call_raw, CallError};
use backstop_node::risk::MarketRisk;

const ROUNDS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> eyre::Result<()> {
    let accounts: usize =
        std::env::var("BACKSTOP_BENCH_ACCOUNTS").ok().and_then(|text| text.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let anvil = backstop_devnet::binaries::anvil()?;
    let chain = LocalChain::spawn_with_args(
        &anvil,
        31_337,
        &dir.path().join("anvil.log"),
        &[],
        &["--gas-limit", "1000000000"],
    )?;
    let parameters = MarketParameters::default();
    let deployment = market::deploy(&chain, &parameters, vec![Address::repeat_byte(0xa7)], 1, &[]).await?;
    let started = Instant::now();
    let population = population::open(&chain, &deployment, &parameters, &PopulationSpec::new(accounts, 13), |opened| {
        eprint!("\ropening accounts: {opened}/{accounts}");
    })
    .await?;
    eprintln!("\ropened {} accounts in {:.1} s", population.len(), started.elapsed().as_secs_f64());

    // A 20% crash, so the scans have something to find.
    for collateral in &deployment.collaterals {
        let spec = parameters.collaterals.iter().find(|spec| spec.symbol == collateral.symbol).expect("listed");
        for feed in &collateral.feeds {
            let feed = MockPriceFeed::new(*feed, &chain.provider);
            chain.confirm("drop", feed.setPrice(feed_answer(spec.initial_price * 8 / 10)).send().await).await?;
        }
    }
    let block = chain.provider.get_block_number().await?;
    let at = BlockId::number(block);

    let provider = chain.provider.clone();
    let collaterals: Vec<Address> = deployment.collaterals.iter().map(|collateral| collateral.token).collect();
    let indexed = Instant::now();
    let mut risk = MarketRisk::load(&provider, deployment.engine, collaterals, at).await?;
    risk.track(&provider, &population, at).await?;
    let index_time = indexed.elapsed();

    let config = RiskConfig::default();
    let mut local = Vec::new();
    let mut found_local = 0;
    for _ in 0..ROUNDS {
        let scan = risk.scan(&provider, at, &config).await?;
        found_local = scan.unhealthy.len();
        local.push(scan.duration);
    }

    let engine = IMarginMarket::new(deployment.engine, &provider);
    let sequential_started = Instant::now();
    let mut found_sequential = 0;
    for account in &population {
        let health = engine.accountHealth(*account).block(at).call().await?;
        if !health.debtValue.is_zero() && health.collateralValue < health.requirement {
            found_sequential += 1;
        }
    }
    let sequential = sequential_started.elapsed();

    let health_calls: Vec<(Address, Bytes)> = population
        .iter()
        .map(|account| (deployment.engine, IMarginMarket::accountHealthCall { account: *account }.abi_encode().into()))
        .collect();
    let count_unhealthy = |answers: Vec<Result<Bytes, CallError>>| {
        answers
            .into_iter()
            .filter_map(|answer| answer.ok())
            .filter_map(|data| IMarginMarket::accountHealthCall::abi_decode_returns(&data).ok())
            .filter(|health| !health.debtValue.is_zero() && health.collateralValue < health.requirement)
            .count()
    };
    let mut batched = Vec::new();
    let mut found_batched = 0;
    let mut readers = Vec::new();
    let mut found_readers = 0;
    for _ in 0..ROUNDS.min(3) {
        let started = Instant::now();
        found_batched = count_unhealthy(call_each(&provider, &health_calls, at).await?);
        batched.push(started.elapsed());
        let started = Instant::now();
        found_readers = count_unhealthy(call_raw(&provider, &health_calls, at).await?);
        readers.push(started.elapsed());
    }
    let _ = MarginEngine::new(deployment.engine, &provider);

    assert_eq!(found_local, found_sequential, "the local scan finds what the chain says");
    assert_eq!(found_batched, found_sequential);
    assert_eq!(found_readers, found_sequential);
    let local = median(local);
    let batched = median(batched);
    let readers = median(readers);
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    println!(
        "\nrisk scan, {} accounts on one anvil chain, {found_local} liquidatable after a 20% drop",
        population.len()
    );
    println!("  indexing (load + read every position once, batched): {:>10.1} ms", ms(index_time));
    println!("  local scan per block (prices read + every account):   {:>10.2} ms", ms(local));
    println!(
        "  per-account eth_call, sequential:                    {:>10.1} ms  ({:.0}x the local scan)",
        ms(sequential),
        sequential.as_secs_f64() / local.as_secs_f64()
    );
    println!(
        "  per-account eth_call, JSON-RPC batches of 500:       {:>10.1} ms  ({:.0}x the local scan)",
        ms(batched),
        batched.as_secs_f64() / local.as_secs_f64()
    );
    println!(
        "  per-account calls in deployless BatchReader batches: {:>10.1} ms  ({:.0}x the local scan; the node's fallback)",
        ms(readers),
        readers.as_secs_f64() / local.as_secs_f64()
    );
    Ok(())
}
