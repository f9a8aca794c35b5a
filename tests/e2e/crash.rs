//! The whole network against a price crash on two chains: nodes open intents, two
//! solvers bid different premiums, the committee awards the better bid, the winner
//! settles, and the premium reaches the market's insurance fund.

use std::time::Duration;

use backstop_devnet::{Devnet, Observed};

use crate::outcome::{assert_crash_bites, assert_crash_outcome, await_all_settled, keep_logs_on_error};

const LOW_BPS: u32 = 50;
const HIGH_BPS: u32 = 150;
const SETTLE_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_is_liquidated_by_the_best_bid_and_its_premium_reaches_the_insurance_fund() -> eyre::Result<()> {
    let devnet = Devnet::builder().chains(2).nodes(3).threshold(2).solvers(&[LOW_BPS, HIGH_BPS]).start().await?;
    let result = scenario(&devnet).await;
    let () = keep_logs_on_error(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn scenario(devnet: &Devnet) -> eyre::Result<()> {
    let (winner_name, _, winner_executor) =
        devnet.solvers().into_iter().find(|(_, bps, _)| *bps == HIGH_BPS).expect("the 150 bps solver runs");

    // Both collaterals (WETH, WBTC) drop 25% in three steps; the router's volatility rises with
    // each step, and with it the haircuts. Which accounts went under is the engine's word.
    let crash = devnet.crash(2_500).await?;
    assert_crash_bites(&crash);

    await_all_settled(devnet, &crash, SETTLE_TIMEOUT).await?;
    println!("{}", devnet.report(&crash, &Observed::default()).await?.render());

    assert_crash_outcome(devnet, &crash, &winner_name, winner_executor, HIGH_BPS).await?;
    Ok(())
}
