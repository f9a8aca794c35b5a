//! The flash-swap bot against a real devnet (anvil, Uniswap V2 pools, three node processes):
//! with no debt inventory at all, it wins, settles through its `FlashLiquidator` and the
//! pool, and ends with more of the debt asset than it started with (net of the premium it
//! paid); on a thin pool it skips the intents it cannot profit from.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::U256;
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use backstop_devnet::dex::DexSettings;
use backstop_devnet::{Devnet, MarketParameters};
use backstop_solver_sdk::strategies::FlashSwap;
use backstop_solver_sdk::{deploy_flash_liquidator, Address, AuctionOutcome};

use crate::harness::{balance_of, chain, devnet_without_solvers, devnet_without_solvers_with, fund, until, Bot, WAD};

const OUTCOME_TIMEOUT: Duration = Duration::from_secs(90);

fn keep_logs<T>(devnet: &Devnet, result: eyre::Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{error:?}\n(logs kept under {})", devnet.dir().display()),
    }
}

/// A wallet with gas only (no debt asset) and its FlashLiquidator on the devnet's chain.
async fn flash_wallet(devnet: &Devnet) -> eyre::Result<(PrivateKeySigner, Address)> {
    let wallet = PrivateKeySigner::random();
    fund(devnet, wallet.address(), 0).await?;
    let chain = chain(devnet);
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(wallet.clone())).connect_http(chain.chain.rpc_url.parse()?);
    let liquidator =
        deploy_flash_liquidator(&provider, wallet.address(), chain.deployment.settlement, chain.dex.factory).await?;
    Ok((wallet, liquidator))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_swap_bot_without_inventory_settles_through_the_pool_and_profits_in_the_debt_asset() -> eyre::Result<()>
{
    let devnet = devnet_without_solvers().await?;
    let result = flash_profit(&devnet).await;
    keep_logs(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn flash_profit(devnet: &Devnet) -> eyre::Result<()> {
    let usd = chain(devnet).deployment.usd;
    let (wallet, liquidator) = flash_wallet(devnet).await?;
    let before = balance_of(devnet, usd, wallet.address()).await?;
    assert_eq!(before, U256::ZERO, "no debt inventory at all");
    let strategy = FlashSwap { margin_bps: 300, min_margin: U256::ZERO };
    let mut bot = Bot::start_with(devnet, "flash-300bps", wallet.clone(), Some(liquidator), strategy).await?;

    devnet.crash(2_500).await?;
    until(&mut [&mut bot], OUTCOME_TIMEOUT, |bots| bots[0].count("won") >= 1).await?;

    let mut premiums = U256::ZERO;
    let mut reported = U256::ZERO;
    for outcome in &bot.outcomes {
        if let AuctionOutcome::Won { premium, collateral_received, gas_used, tx_hash, .. } = outcome {
            assert!(*premium > U256::ZERO && *gas_used > 0, "{outcome:?}");
            premiums += *premium;
            for received in collateral_received.iter().filter(|received| received.asset == usd) {
                reported += received.units;
            }
            println!(
                "flash settle {tx_hash}: premium {premium}, gas {gas_used}, to the wallet {collateral_received:?}"
            );
        }
    }
    let after = balance_of(devnet, usd, wallet.address()).await?;
    let profit = after - before;
    println!(
        "flash-swap bot: {} settlement(s), premiums paid {} USD wei, profit {profit} USD wei ({}.{:02} USD)",
        bot.count("won"),
        premiums,
        profit / U256::from(WAD),
        (profit % U256::from(WAD)) * U256::from(100u8) / U256::from(WAD)
    );
    assert!(profit > U256::ZERO, "the bot ends with more debt asset than it started with (after the premium)");
    assert_eq!(profit, reported, "the Won outcomes report what the liquidator sent the wallet");
    // A pool that moved between bid and settle can leave the flash swap short: the runtime
    // then reports the decoded revert and never sends the transaction.
    for outcome in &bot.outcomes {
        if let AuctionOutcome::SettleReverted { reason, sent, .. } = outcome {
            assert!(!sent, "a settle that would revert is never sent: {reason}");
        }
    }
    // The liquidator keeps nothing.
    assert_eq!(balance_of(devnet, usd, liquidator).await?, U256::ZERO);
    for collateral in &chain(devnet).deployment.collaterals {
        assert_eq!(balance_of(devnet, collateral.token, liquidator).await?, U256::ZERO, "{}", collateral.symbol);
    }
    bot.handle.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_swap_bot_skips_intents_a_thin_pool_cannot_pay_for() -> eyre::Result<()> {
    // $3,000 a side: selling thousands of dollars of seized collateral into it costs far more
    // than the liquidation bonus.
    let parameters =
        MarketParameters { dex: DexSettings { depth_usd_per_pool: 3_000, ..Default::default() }, ..Default::default() };
    let devnet = devnet_without_solvers_with(parameters).await?;
    let result = thin_pool(&devnet).await;
    keep_logs(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn thin_pool(devnet: &Devnet) -> eyre::Result<()> {
    let (wallet, liquidator) = flash_wallet(devnet).await?;
    let strategy = FlashSwap { margin_bps: 300, min_margin: U256::ZERO };
    let mut bot = Bot::start_with(devnet, "flash-thin", wallet, Some(liquidator), strategy).await?;
    devnet.crash(2_500).await?;
    // Every account the crash puts under maintenance gets an intent; the bot declines them.
    until(&mut [&mut bot], OUTCOME_TIMEOUT, |bots| bots[0].count("declined") >= 2).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    bot.drain();
    assert_eq!(bot.count("won") + bot.count("lost") + bot.count("settle_reverted"), 0, "{:#?}", bot.outcomes);
    bot.handle.shutdown().await;
    Ok(())
}
