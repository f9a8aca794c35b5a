//! The whole network against a price crash on two chains: nodes open intents, two
//! solvers bid different premiums, the committee awards the better bid, the winner
//! settles, and the premium reaches the market's insurance fund.

use std::time::Duration;

use alloy::primitives::U256;
use backstop_devnet::{wait_for, Devnet, Observed};
use backstop_protocol::bindings::MarginEngine;

use crate::chain_truth::{all_settled, ChainTruth};

const LOW_BPS: u32 = 50;
const HIGH_BPS: u32 = 150;
const SETTLE_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_is_liquidated_by_the_best_bid_and_its_premium_reaches_the_insurance_fund() -> eyre::Result<()> {
    let devnet = Devnet::builder().chains(2).nodes(3).threshold(2).solvers(&[LOW_BPS, HIGH_BPS]).start().await?;
    let dir = devnet.dir().display().to_string();
    let (winner_name, _, winner_executor) =
        devnet.solvers().into_iter().find(|(_, bps, _)| *bps == HIGH_BPS).expect("the 150 bps solver runs");

    // Both collaterals (WETH, WBTC) drop 25% in three steps; the router's volatility rises with
    // each step, and with it the haircuts. Which accounts went under is the engine's word.
    let crash = devnet.crash(2_500).await?;
    for chain in &crash.chains {
        assert!(
            !chain.under.is_empty() && !chain.healthy.is_empty(),
            "the crash must split accounts on chain {}",
            chain.chain_id
        );
        assert!(chain.assets.len() >= 2, "chain {}: accounts hold several collateral assets", chain.chain_id);
        for asset in &chain.assets {
            assert!(
                asset.volatility_after > asset.volatility_before && asset.haircut_after > asset.haircut_before,
                "chain {}: the crash must raise volatility and haircut: {}",
                chain.chain_id,
                asset.summary()
            );
        }
    }

    let waiting_since = std::time::Instant::now();
    for (chain, chain_crash) in devnet.chains().iter().zip(&crash.chains) {
        wait_for(
            &format!("every under-water account on chain {} to be settled (logs under {dir})", chain_crash.chain_id),
            SETTLE_TIMEOUT.saturating_sub(waiting_since.elapsed()),
            || all_settled(chain, &chain_crash.under),
        )
        .await?;
    }
    println!("{}", devnet.report(&crash, &Observed::default()).await?.render());

    for (chain, chain_crash) in devnet.chains().iter().zip(&crash.chains) {
        let chain_id = chain_crash.chain_id;
        let truth = ChainTruth::read(chain).await?;
        assert!(!truth.settled.is_empty(), "chain {chain_id} had no settlement up to block {}", truth.block);

        for account in &chain_crash.under {
            assert!(truth.settlements_of(*account) >= 1, "under-water {account} on chain {chain_id} was not settled");
        }
        for account in &chain_crash.healthy {
            assert_eq!(truth.settlements_of(*account), 0, "healthy {account} on chain {chain_id} was liquidated");
        }
        for (account, nonce) in &truth.nonces {
            assert_eq!(
                *nonce,
                U256::from(truth.settlements_of(*account)),
                "nonce of {account} on chain {chain_id} must count its settlements"
            );
        }

        let mut premiums = U256::ZERO;
        for event in &truth.settled {
            assert_eq!(event.marketId, chain.deployment.market_id);
            assert_eq!(
                event.executor, winner_executor,
                "chain {chain_id}: {} settled, but {winner_name} bid the higher premium",
                event.executor
            );
            assert_eq!(
                event.premium,
                event.repayAmount * U256::from(HIGH_BPS) / U256::from(10_000u32),
                "chain {chain_id}: the premium is the winning bid, {HIGH_BPS} bps of the repay"
            );
            assert!(event.premium >= U256::from(devnet.parameters().reserve_premium));
            premiums += event.premium;
        }
        // The beneficiary is the engine's insurance fund: across the crash its USD balance grew
        // by exactly the premiums (it paid no shortfall: every account stayed above water).
        let engine = MarginEngine::new(chain.deployment.engine, &chain.chain.provider);
        assert_eq!(
            chain.deployment.beneficiary,
            engine.insuranceFund().call().await?,
            "chain {chain_id}: premiums go to the engine's insurance fund"
        );
        assert_eq!(
            engine.totalShortfall().call().await?,
            U256::ZERO,
            "chain {chain_id}: no liquidation left a shortfall"
        );
        assert_eq!(
            truth.beneficiary_balance.saturating_sub(chain_crash.beneficiary_before),
            premiums,
            "chain {chain_id}: the insurance fund got exactly the premiums"
        );
    }
    devnet.shutdown();
    Ok(())
}
