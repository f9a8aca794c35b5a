//! Recapture: the devnet's default solvers (two margin bots, margins
//! `backstop_devnet::DEFAULT_MARGIN_BPS`, and a flash-swap bot, `DEFAULT_FLASH_BPS`) compete on the devnet's crash scenario (two
//! chains, both collaterals -25% in three steps). The premium paid to the protocol must be
//! at least 90% of the liquidation bonus, and no solver may lose money: for each
//! settlement, seized value − repay − premium − gas (valued at the crashed WETH price).

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{I256, U256};
use alloy::providers::Provider;
use backstop_devnet::{Devnet, DEFAULT_FLASH_BPS, DEFAULT_MARGIN_BPS};

use crate::harness::WAD;

const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
const FOLLOW_UP_TIMEOUT: Duration = Duration::from_secs(30);
const TARGET_RECAPTURE_BPS: u64 = 9_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_competing_margin_bots_hand_at_least_90_percent_of_the_bonus_to_the_protocol_without_losing_money(
) -> eyre::Result<()> {
    let devnet = Devnet::builder().start().await?;
    let result = measure(&devnet).await;
    if let Err(error) = &result {
        panic!("{error:?}\n(logs kept under {})", devnet.dir().display());
    }
    devnet.shutdown();
    Ok(())
}

async fn measure(devnet: &Devnet) -> eyre::Result<()> {
    let strategies = devnet.solver_strategies();
    assert_eq!(strategies.len(), 3, "the devnet runs three solvers by default");
    let margin_bots = strategies.iter().filter(|(_, strategy, _)| strategy.name() == "margin").count();
    let flash_bots = strategies.iter().filter(|(_, strategy, _)| strategy.name() == "flash_swap").count();
    assert_eq!((margin_bots, flash_bots), (2, 1), "two margin bots and a flash-swap bot: {strategies:?}");

    let crash = devnet.crash(2_500).await?;
    let observed = devnet.await_settlement(&crash, SETTLE_TIMEOUT).await?;
    devnet.await_healthy(&crash, FOLLOW_UP_TIMEOUT).await?;
    let report = devnet.report(&crash, &observed).await?;
    println!("{}", report.render());

    let flash_solvers: Vec<String> = strategies
        .iter()
        .filter(|(_, strategy, _)| strategy.name() == "flash_swap")
        .map(|(name, _, _)| name.clone())
        .collect();
    let (mut premium_total, mut bonus_total) = (U256::ZERO, U256::ZERO);
    // Per solver: net profit in USD wei (signed), settlements won.
    let mut profit: BTreeMap<String, (I256, usize)> = BTreeMap::new();
    for (chain_report, chain) in report.chains.iter().zip(devnet.chains()) {
        premium_total += chain_report.premium_total;
        bonus_total += chain_report.bonus_total;
        let weth_price = chain_report
            .assets
            .iter()
            .find(|asset| asset.symbol == "WETH")
            .map(|asset| asset.price_after)
            .ok_or_else(|| eyre::eyre!("no WETH in the report"))?;
        for settlement in &chain_report.settlements {
            // A flash-swap bot sells the collateral at the pools, not at the oracle: its
            // profit is the debt asset its wallet gained (checked below), not an oracle value.
            if flash_solvers.contains(&settlement.solver) {
                continue;
            }
            let gas_wei = match settlement.transaction {
                Some(tx_hash) => {
                    let receipt = chain
                        .chain
                        .provider
                        .get_transaction_receipt(tx_hash)
                        .await?
                        .ok_or_else(|| eyre::eyre!("no receipt for {tx_hash}"))?;
                    U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
                }
                None => U256::ZERO,
            };
            let gas_usd = (gas_wei * weth_price).div_ceil(U256::from(WAD));
            let gained = I256::from_raw(settlement.seized_value);
            let spent = I256::from_raw(settlement.repay + settlement.premium + gas_usd);
            let entry = profit.entry(settlement.solver.clone()).or_insert((I256::ZERO, 0));
            entry.0 += gained - spent;
            entry.1 += 1;
        }
    }
    assert!(!bonus_total.is_zero(), "the crash liquidated something");
    let recapture_bps = (premium_total * U256::from(10_000u32) / bonus_total).to::<u64>();
    println!(
        "recapture: {}.{:02}% of the {} USD wei bonus ({} USD wei premium), margins {:?} bps, flash {:?} bps",
        recapture_bps / 100,
        recapture_bps % 100,
        bonus_total,
        premium_total,
        DEFAULT_MARGIN_BPS,
        DEFAULT_FLASH_BPS
    );
    for (solver, (net, won)) in &profit {
        println!("solver {solver}: {won} settlement(s), net profit {net} USD wei");
    }
    assert!(recapture_bps >= TARGET_RECAPTURE_BPS, "recapture {recapture_bps} bps is below the 90% target");
    for (solver, (net, _)) in &profit {
        assert!(!net.is_negative(), "solver {solver} lost money: {net}");
    }
    // The flash-swap bot's wallet never ends below the USD float the devnet gave it: its
    // liquidator reverts rather than settle at a loss.
    let float = U256::from(devnet.parameters().executor_float);
    for (name, _, wallet) in strategies.iter().filter(|(name, _, _)| flash_solvers.contains(name)) {
        for chain in devnet.chains() {
            let usd = backstop_bindings::TestToken::new(chain.deployment.usd, &chain.chain.provider);
            let balance = usd.balanceOf(*wallet).call().await?;
            assert!(balance >= float, "flash-swap solver {name} lost USD on chain {}: {balance}", chain.chain.chain_id);
            println!("solver {name}: chain {} USD gained {}", chain.chain.chain_id, balance - float);
        }
    }
    Ok(())
}
