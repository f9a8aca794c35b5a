//! Margin bots against a real devnet (anvil, deployed contracts, three node processes)
//! through the devnet's crash: the tightest margin wins and settles, a looser one loses
//! and learns the winning premium, a bot without funds never commits, and a settle that
//! would revert is reported with its reason and never sent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use backstop_bindings::TestToken;
use backstop_devnet::Devnet;
use backstop_solver_sdk::strategies::Margin;
use backstop_solver_sdk::{AuctionOutcome, Bid, IntentView, Strategy};
use tokio::sync::mpsc;

use crate::harness::{balance_of, chain, devnet_without_solvers, fund, until, Bot};

const OUTCOME_TIMEOUT: Duration = Duration::from_secs(90);

fn margin(bps: u32) -> Margin {
    Margin { margin_bps: bps, min_margin: U256::ZERO }
}

fn keep_logs<T>(devnet: &Devnet, result: eyre::Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{error:?}\n(logs kept under {})", devnet.dir().display()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tightest_margin_wins_and_receives_the_collateral_the_loser_learns_its_premium_the_unfunded_never_commits(
) -> eyre::Result<()> {
    let devnet = devnet_without_solvers().await?;
    let result = compete(&devnet).await;
    keep_logs(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn compete(devnet: &Devnet) -> eyre::Result<()> {
    let (tight_key, loose_key, broke_key) =
        (PrivateKeySigner::random(), PrivateKeySigner::random(), PrivateKeySigner::random());
    fund(devnet, tight_key.address(), 1_000_000).await?;
    fund(devnet, loose_key.address(), 1_000_000).await?;
    // Gas and bond money, but no debt asset: it can never pay a repay.
    fund(devnet, broke_key.address(), 0).await?;
    let mut tight = Bot::start(devnet, "tight-100bps", tight_key, margin(100)).await?;
    let mut loose = Bot::start(devnet, "loose-800bps", loose_key, margin(800)).await?;
    // Keeps nothing: it would outbid both if it could commit.
    let mut broke = Bot::start(devnet, "broke-0bps", broke_key, margin(0)).await?;

    devnet.crash(2_500).await?;
    until(&mut [&mut tight, &mut loose, &mut broke], OUTCOME_TIMEOUT, |bots| {
        let won: Vec<_> = bots[0].outcomes.iter().filter(|o| o.label() == "won").map(|o| o.intent_id()).collect();
        let lost_to_tight = bots[1].outcomes.iter().any(|o| o.label() == "lost" && won.contains(&o.intent_id()));
        let broke_skipped = bots[2].outcomes.iter().any(|o| o.label() == "not_funded" && won.contains(&o.intent_id()));
        lost_to_tight && broke_skipped
    })
    .await?;

    // The winner settled and holds the collateral its outcomes report.
    let mut received: HashMap<Address, U256> = HashMap::new();
    let mut premiums = HashMap::new();
    for outcome in &tight.outcomes {
        if let AuctionOutcome::Won { intent_id, premium, collateral_received, gas_used, .. } = outcome {
            assert!(!collateral_received.is_empty(), "a settlement pays out collateral: {outcome:?}");
            assert!(*gas_used > 0);
            for collateral in collateral_received {
                *received.entry(collateral.asset).or_default() += collateral.units;
            }
            premiums.insert(*intent_id, *premium);
        }
    }
    for (asset, units) in &received {
        let held = balance_of(devnet, *asset, tight.executor.address()).await?;
        assert!(held >= *units && !units.is_zero(), "executor holds {held} of {asset}, outcomes report {units}");
    }

    // The loser's outcome carries the premium that beat it.
    for outcome in &loose.outcomes {
        if let AuctionOutcome::Lost { intent_id, winning_premium, .. } = outcome {
            if let Some(premium) = premiums.get(intent_id) {
                assert_eq!(*winning_premium, Some(*premium), "the loser learns the winning premium");
            }
        }
    }
    assert_eq!(loose.count("won"), 0, "the looser margin bids less and never wins against the tighter one");

    // The unfunded bot never committed: it reported NotFunded and was never in an auction.
    assert_eq!(broke.count("won") + broke.count("lost") + broke.count("settle_reverted"), 0, "{:#?}", broke.outcomes);
    for outcome in &broke.outcomes {
        if let AuctionOutcome::NotFunded { shortfall, .. } = outcome {
            assert_eq!(shortfall.balance, U256::ZERO);
            assert!(shortfall.needed > U256::ZERO);
        }
    }
    // Had its zero-margin bid been committed it would have outranked the winner's.
    for outcome in &broke.outcomes {
        if let (AuctionOutcome::NotFunded { intent_id, shortfall, .. }, Some(won_premium)) =
            (outcome, premiums.get(&outcome.intent_id()))
        {
            assert!(shortfall.needed > *won_premium, "intent {intent_id}");
        }
    }
    for bot in [&tight, &loose, &broke] {
        println!("{}: {:#?}", bot.name, bot.outcomes);
    }
    tight.handle.shutdown().await;
    loose.handle.shutdown().await;
    broke.handle.shutdown().await;
    Ok(())
}

/// A margin bot whose executor spends its debt asset right after its first bid, so the
/// award it wins can no longer be paid: the settle would revert.
struct SpendsItsFundsAfterBidding {
    inner: Margin,
    spent: AtomicBool,
    spend: mpsc::UnboundedSender<()>,
}

impl Strategy for SpendsItsFundsAfterBidding {
    async fn bid(&self, view: &IntentView) -> Option<Bid> {
        let bid = self.inner.bid_for(&view.pricing)?;
        if !self.spent.swap(true, Ordering::SeqCst) {
            let _ = self.spend.send(());
        }
        Some(bid)
    }
}

/// A bonded solver that never bids. Where every bonded solver has revealed, a round is
/// decided at once (docs/protocol.md, award schedule); with this one bonded beside the
/// spender, rounds wait for commits to close, which leaves the spending transfer a block
/// to land before the award's settle is simulated.
struct Abstains;

impl Strategy for Abstains {
    async fn bid(&self, _view: &IntentView) -> Option<Bid> {
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settle_that_would_revert_is_not_sent_and_is_reported_with_its_decoded_reason() -> eyre::Result<()> {
    let devnet = devnet_without_solvers().await?;
    let result = revert(&devnet).await;
    keep_logs(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn revert(devnet: &Devnet) -> eyre::Result<()> {
    let executor = PrivateKeySigner::random();
    fund(devnet, executor.address(), 1_000_000).await?;
    let (spend, mut spend_requests) = mpsc::unbounded_channel();
    let strategy = SpendsItsFundsAfterBidding { inner: margin(100), spent: AtomicBool::new(false), spend };
    let mut bot = Bot::start(devnet, "spender", executor.clone(), strategy).await?;
    let bystander_executor = PrivateKeySigner::random();
    fund(devnet, bystander_executor.address(), 1).await?;
    let bystander = Bot::start(devnet, "bystander", bystander_executor, Abstains).await?;
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(executor.clone()))
        .connect_http(chain(devnet).chain.rpc_url.parse()?);
    let usd = TestToken::new(chain(devnet).deployment.usd, wallet.clone());

    let crashing = devnet.crash(2_500);
    let spending = async {
        spend_requests.recv().await.ok_or_else(|| eyre::eyre!("the strategy was never asked"))?;
        let balance = usd.balanceOf(executor.address()).call().await?;
        let receipt = usd.transfer(Address::repeat_byte(0xde), balance).send().await?.get_receipt().await?;
        eyre::ensure!(receipt.status(), "moving the executor's USD away reverted");
        Ok::<_, eyre::Report>(wallet.get_transaction_count(executor.address()).await?)
    };
    let (crashed, nonce_after_spending) = tokio::join!(crashing, spending);
    crashed?;
    let nonce_after_spending = nonce_after_spending?;

    until(&mut [&mut bot], OUTCOME_TIMEOUT, |bots| bots[0].count("settle_reverted") > 0).await?;
    let reverted = bot.outcomes.iter().find(|outcome| outcome.label() == "settle_reverted").cloned();
    let Some(AuctionOutcome::SettleReverted { reason, sent, .. }) = reverted else { unreachable!() };
    assert!(!sent, "the simulation caught it: nothing was sent");
    assert!(reason.starts_with("TransferFromFailed"), "decoded custom error, got {reason:?}");
    assert_eq!(bot.count("won"), 0);
    // No settle left the executor: its nonce is where the spending transfer left it.
    assert_eq!(wallet.get_transaction_count(executor.address()).await?, nonce_after_spending);
    println!("{}: {:#?}", bot.name, bot.outcomes);
    bot.handle.shutdown().await;
    bystander.handle.shutdown().await;
    Ok(())
}

/// A margin bot that tells the test when it bid, so the test can hold the chain's blocks.
struct SignalsItsBids {
    inner: Margin,
    signalled: AtomicBool,
    bid_made: mpsc::UnboundedSender<()>,
}

impl Strategy for SignalsItsBids {
    async fn bid(&self, view: &IntentView) -> Option<Bid> {
        let bid = self.inner.bid_for(&view.pricing)?;
        if !self.signalled.swap(true, Ordering::SeqCst) {
            let _ = self.bid_made.send(());
        }
        Some(bid)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_settle_is_resent_with_the_same_nonce_and_settles_before_the_deadline() -> eyre::Result<()> {
    let devnet = devnet_without_solvers().await?;
    let result = dropped(&devnet).await;
    keep_logs(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn dropped(devnet: &Devnet) -> eyre::Result<()> {
    let executor = PrivateKeySigner::random();
    fund(devnet, executor.address(), 1_000_000).await?;
    let (bid_made, mut bids) = mpsc::unbounded_channel();
    let strategy = SignalsItsBids { inner: margin(100), signalled: AtomicBool::new(false), bid_made };
    let mut bot = Bot::start(devnet, "resender", executor.clone(), strategy).await?;
    let provider = chain(devnet).chain.provider.clone();

    let crashing = devnet.crash(2_500);
    let dropping = async {
        bids.recv().await.ok_or_else(|| eyre::eyre!("the strategy was never asked"))?;
        // Hold the blocks so the first settle waits in the pool, then drop it there.
        provider.raw_request::<_, serde_json::Value>("evm_setIntervalMining".into(), (0,)).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let dropped = loop {
            let pool: serde_json::Value = provider.raw_request("txpool_content".into(), ()).await?;
            let ours = pool["pending"].as_object().and_then(|senders| {
                senders.iter().find(|(sender, _)| sender.eq_ignore_ascii_case(&executor.address().to_string()))
            });
            if let Some((_, transactions)) = ours {
                let transaction = transactions.as_object().and_then(|by_nonce| by_nonce.values().next()).cloned();
                if let Some(transaction) = transaction {
                    let hash: alloy::primitives::B256 = serde_json::from_value(transaction["hash"].clone())?;
                    let nonce = transaction["nonce"]
                        .as_str()
                        .map(|nonce| u64::from_str_radix(nonce.trim_start_matches("0x"), 16));
                    provider.raw_request::<_, serde_json::Value>("anvil_dropTransaction".into(), (hash,)).await?;
                    break (hash, nonce.transpose()?);
                }
            }
            eyre::ensure!(tokio::time::Instant::now() < deadline, "no settle reached the pool");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        provider.raw_request::<_, serde_json::Value>("evm_setIntervalMining".into(), (1,)).await?;
        Ok::<_, eyre::Report>(dropped)
    };
    let (crashed, dropped) = tokio::join!(crashing, dropping);
    crashed?;
    let (dropped_hash, dropped_nonce) = dropped?;
    let dropped_nonce = dropped_nonce.ok_or_else(|| eyre::eyre!("dropped transaction without a nonce"))?;

    // The award settles anyway: a resend with the same nonce was mined instead.
    let wons = |bot: &Bot| -> Vec<alloy::primitives::B256> {
        bot.outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                AuctionOutcome::Won { tx_hash, .. } => Some(*tx_hash),
                _ => None,
            })
            .collect()
    };
    let mut resent = None;
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    while resent.is_none() {
        until(&mut [&mut bot], OUTCOME_TIMEOUT, |bots| !wons(bots[0]).is_empty()).await?;
        for tx_hash in wons(&bot) {
            let transaction = provider.get_transaction_by_hash(tx_hash).await?;
            if transaction.is_some_and(|transaction| {
                use alloy::consensus::Transaction as _;
                transaction.inner.nonce() == dropped_nonce
            }) {
                resent = Some(tx_hash);
            }
        }
        eyre::ensure!(tokio::time::Instant::now() < deadline, "no settle with the dropped nonce: {:#?}", bot.outcomes);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_ne!(resent, Some(dropped_hash), "the dropped transaction itself was never mined");
    assert!(provider.get_transaction_receipt(dropped_hash).await?.is_none(), "the dropped transaction stays dropped");
    assert_eq!(bot.count("award_expired") + bot.count("settle_reverted"), 0, "{:#?}", bot.outcomes);
    println!("{}: dropped {dropped_hash} (nonce {dropped_nonce}), settled by {resent:?}", bot.name);
    bot.handle.shutdown().await;
    Ok(())
}
