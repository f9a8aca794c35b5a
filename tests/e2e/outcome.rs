//! What a crash must end in, asserted on chain: shared by the crash tests.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use backstop_bindings::MarginEngine;
use backstop_devnet::{wait_for, Crash, Devnet};

use crate::chain_truth::{all_settled, ChainTruth};

/// Unwraps a test's result while its devnet is still alive: an error becomes a panic, so
/// the devnet's directory (node, solver and anvil logs) is kept for a look, as it is for
/// a failed assertion.
pub fn keep_logs_on_error<T>(devnet: &Devnet, result: eyre::Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{error:?}\n(logs kept under {})", devnet.dir().display()),
    }
}

/// Waits until every account the crash put under water has been liquidated through
/// `settle` on its chain.
pub async fn await_all_settled(devnet: &Devnet, crash: &Crash, timeout: Duration) -> eyre::Result<()> {
    let dir = devnet.dir().display().to_string();
    let waiting_since = Instant::now();
    for (chain, chain_crash) in devnet.chains().iter().zip(&crash.chains) {
        wait_for(
            &format!("every under-water account on chain {} to be settled (logs under {dir})", chain_crash.chain_id),
            timeout.saturating_sub(waiting_since.elapsed()),
            || all_settled(chain, &chain_crash.under),
        )
        .await?;
    }
    Ok(())
}

/// The crash split the accounts, and raised every collateral's volatility and haircut.
pub fn assert_crash_bites(crash: &Crash) {
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
}

/// On every chain: each under-water account was settled and no healthy one was; nonces
/// count the settlements; every award went to `winner_executor` at `winner_bps` of the
/// repay; the insurance fund received exactly the premiums and paid no shortfall.
pub async fn assert_crash_outcome(
    devnet: &Devnet,
    crash: &Crash,
    winner_name: &str,
    winner_executor: Address,
    winner_bps: u32,
) -> eyre::Result<()> {
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
                event.repayAmount * U256::from(winner_bps) / U256::from(10_000u32),
                "chain {chain_id}: the premium is the winning bid, {winner_bps} bps of the repay"
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
    Ok(())
}
