//! A committee node is SIGKILLed in the middle of the crash and restarted with the same
//! config and data dir: the network still liquidates every under-water account with the
//! best bid, the node resumes from the cursors it stored instead of rescanning the chains,
//! and no node ever signs a different award for an intent while an earlier one can still
//! settle (the vote it persisted before the kill binds the restarted process).
//!
//! Two kill points: right after the crash's first price step is mined (auctions about to
//! open), and right after node-0 signed its first award vote (auctions decided, its vote
//! stored, settlement pending: the restarted node must restore them).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy::providers::Provider;
use backstop_devnet::scenario::{DEFAULT_CRASH_STEPS, DEFAULT_STEP_INTERVAL};
use backstop_devnet::{wait_for, CrashStep, Devnet, LogFormat, Observed};
use backstop_node::store::Store;

use crate::node_log::{self, SignedVote, VOTE_SIGNED};
use crate::outcome::{assert_crash_bites, assert_crash_outcome, await_all_settled, keep_logs_on_error};

const LOW_BPS: u32 = 50;
const HIGH_BPS: u32 = 150;
/// As in the crash test. A run normally settles within seconds; the margin is for an award
/// whose settle reverted and had to expire before a retried round (tens of seconds).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(90);
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long node-0 stays down: long enough for auctions to move on without it (the other
/// two still make the threshold), short enough that it rejoins mid-crash.
const DOWNTIME: Duration = Duration::from_millis(1_500);
/// The node's sled flushes writes every 500 ms, so a SIGKILL may lose the last cursor
/// update or two, and a busy node lags its 250 ms poll: this many blocks behind the head
/// at the kill is still "resumed" (seen: 2 behind); a rescan is ~50 behind.
const CURSOR_SLACK_BLOCKS: u64 = 4;
/// Blocks the nodes run before the crash. The devnet starts the crash moments after the
/// last solver is ready, when node-0 may not have stored (sled flushes every 500 ms) its
/// first cursor yet; a node's progress is not observable from outside while it runs (sled
/// locks its store), so give it a few of its 250 ms polls first.
const WARM_UP_BLOCKS: u64 = 3;
const VICTIM: usize = 0;
/// How often node-0's log is read for its first vote.
const LOG_POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillPoint {
    /// As soon as the crash's first step is mined on every chain.
    AfterFirstCrashStep,
    /// As soon as node-0's log shows its first "signed and sent award vote".
    AfterFirstVote,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_after_the_first_crash_step_resumes_from_its_store_and_never_double_signs() -> eyre::Result<()> {
    kill_and_restart_mid_crash(KillPoint::AfterFirstCrashStep).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_right_after_voting_restores_its_auctions_and_never_double_signs() -> eyre::Result<()> {
    kill_and_restart_mid_crash(KillPoint::AfterFirstVote).await
}

/// When node-0 died and how far the chains were.
struct Kill {
    at: Instant,
    /// (chain id, head block at the kill).
    heads: Vec<(u64, u64)>,
}

async fn kill_and_restart_mid_crash(kill_point: KillPoint) -> eyre::Result<()> {
    let devnet = Devnet::builder()
        .chains(2)
        .nodes(3)
        .threshold(2)
        .solvers(&[LOW_BPS, HIGH_BPS])
        .node_log_format(LogFormat::Json)
        .start()
        .await?;
    let result = scenario(&devnet, kill_point).await;
    let () = keep_logs_on_error(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn scenario(devnet: &Devnet, kill_point: KillPoint) -> eyre::Result<()> {
    let (winner_name, _, winner_executor) =
        devnet.solvers().into_iter().find(|(_, bps, _)| *bps == HIGH_BPS).expect("the 150 bps solver runs");
    let victim = &devnet.nodes()[VICTIM];
    let start_blocks: BTreeMap<u64, u64> =
        devnet.chains().iter().map(|chain| (chain.chain.chain_id, chain.deployment.deploy_block)).collect();

    let chain_heads = || async {
        let mut heads = Vec::new();
        for chain in devnet.chains() {
            heads.push((chain.chain.chain_id, chain.chain.provider.get_block_number().await.unwrap_or(0)));
        }
        heads
    };
    let ready_heads = chain_heads().await;
    wait_for(&format!("{WARM_UP_BLOCKS} blocks of node warm-up"), Duration::from_secs(30), || async {
        chain_heads().await.iter().zip(&ready_heads).all(|((_, head), (_, ready))| *head >= ready + WARM_UP_BLOCKS)
    })
    .await?;

    // SIGKILL node-0 at the kill point; bring it back DOWNTIME later.
    let killed: Mutex<Option<Kill>> = Mutex::new(None);
    let crash = async {
        let crash = devnet
            .crash_in_steps_with(2_500, DEFAULT_CRASH_STEPS, DEFAULT_STEP_INTERVAL, |step: &CrashStep| {
                if kill_point == KillPoint::AfterFirstCrashStep && step.index == 0 {
                    victim.kill().expect("SIGKILL node-0");
                    eprintln!("[test] SIGKILLed {} after crash step 1 in blocks {:?}", victim.name(), step.blocks);
                    *killed.lock().unwrap() = Some(Kill { at: Instant::now(), heads: step.blocks.clone() });
                }
            })
            .await?;
        Ok::<_, eyre::Report>(crash)
    };
    let restart = async {
        match kill_point {
            KillPoint::AfterFirstCrashStep => {
                wait_for("node-0 to be killed after the first crash step", Duration::from_secs(30), || async {
                    killed.lock().unwrap().is_some()
                })
                .await?;
            }
            KillPoint::AfterFirstVote => {
                let log = victim.log_path();
                let deadline = Instant::now() + Duration::from_secs(30);
                while node_log::count(&node_log::events(&log, 0)?, VOTE_SIGNED, None) == 0 {
                    eyre::ensure!(Instant::now() < deadline, "{} signed no award vote within 30 s", victim.name());
                    tokio::time::sleep(LOG_POLL).await;
                }
                victim.kill()?;
                let at = Instant::now();
                let heads = chain_heads().await;
                eprintln!("[test] SIGKILLed {} right after its first vote; heads {heads:?}", victim.name());
                *killed.lock().unwrap() = Some(Kill { at, heads });
            }
        }
        let (killed_at, kill_heads) = {
            let kill = killed.lock().unwrap();
            let kill = kill.as_ref().expect("set before the kill was awaited");
            (kill.at, kill.heads.clone())
        };
        assert!(!victim.is_alive(), "{} must be dead after SIGKILL", victim.name());
        // The dead node's store is readable now (sled's lock died with the process).
        let cursors_at_kill: BTreeMap<u64, Option<u64>> = {
            let store = Store::open(&victim.db_path())?;
            kill_heads
                .iter()
                .map(|(chain_id, _)| Ok((*chain_id, store.cursor(*chain_id)?)))
                .collect::<eyre::Result<_>>()?
        };
        tokio::time::sleep(DOWNTIME.saturating_sub(killed_at.elapsed())).await;
        let (log_offset, ready) = victim.restart(READY_TIMEOUT).await?;
        eprintln!(
            "[test] restarted {} after {:?} down: {} {:?}; cursors at kill {cursors_at_kill:?}",
            victim.name(),
            killed_at.elapsed(),
            ready.peer_id,
            ready.listen_addrs
        );
        Ok::<_, eyre::Report>((kill_heads, cursors_at_kill, log_offset))
    };
    let (crash, (kill_heads, cursors_at_kill, log_offset)) = tokio::try_join!(crash, restart)?;
    assert_crash_bites(&crash);

    await_all_settled(devnet, &crash, SETTLE_TIMEOUT).await?;
    println!("{}", devnet.report(&crash, &Observed::default()).await?.render());

    // The chains: the same outcome as without the kill.
    assert_crash_outcome(devnet, &crash, &winner_name, winner_executor, HIGH_BPS).await?;

    // The restarted process is still up (and so is everything else).
    assert!(victim.is_alive(), "restarted {} exited; its log is {}", victim.name(), victim.log_path().display());
    devnet.check_processes()?;

    // It had stored its cursors up to the kill...
    for (chain_id, head) in &kill_heads {
        let cursor = cursors_at_kill[chain_id]
            .unwrap_or_else(|| panic!("{} stored no cursor for chain {chain_id} before the kill", victim.name()));
        assert!(
            cursor + CURSOR_SLACK_BLOCKS >= head.saturating_sub(1) && cursor > start_blocks[chain_id],
            "{}: its stored cursor for chain {chain_id} at the kill was {cursor}; the head was {head}, the start block {}",
            victim.name(),
            start_blocks[chain_id]
        );
    }
    // ...and resumed from them: markets come back from the store, once per chain. Indexing
    // again from the start block would discover each market a second time from its
    // registration log.
    let restarted = node_log::events(&victim.log_path(), log_offset)?;
    assert_eq!(
        node_log::count(&restarted, "node started", None),
        1,
        "{}: one start after the offset of its restart",
        victim.name()
    );
    for chain_id in start_blocks.keys() {
        assert_eq!(
            node_log::count(&restarted, "watching market", Some(*chain_id)),
            1,
            "{}: after the restart, chain {chain_id}'s market must be loaded once from the store, not rediscovered by \
             rescanning from the start block (log {})",
            victim.name(),
            victim.log_path().display()
        );
    }
    let restored = node_log::count(&restarted, "restored open auctions from the store", None);
    if kill_point == KillPoint::AfterFirstVote {
        // Its vote was flushed before it was sent, and with it the auction it was for, which
        // was still open (nobody settles within the same 20 ms).
        assert_eq!(restored, 1, "{}: the auctions open at the kill must be restored", victim.name());
    }

    // No node signed two different awards for one intent while an earlier one could still
    // settle, across node-0's two runs. (A different award for the same intent is allowed
    // once the earlier deadline has passed unsettled: a retried round of the auction.)
    let mut summary = Vec::new();
    for node in devnet.nodes() {
        let votes = node_log::signed_votes(&node_log::events(&node.log_path(), 0)?)?;
        let mut awards: BTreeMap<(String, String), Vec<&SignedVote>> = BTreeMap::new();
        for vote in &votes {
            awards.entry((vote.chain_id.clone(), vote.intent_id.clone())).or_default().push(vote);
        }
        let mut re_awards = 0;
        for ((chain_id, intent_id), signed) in &mut awards {
            signed.sort();
            // Repeats of one award (a restarted node re-sending its stored vote) are not new awards.
            signed.dedup_by(|later, earlier| {
                (&later.executor, &later.deadline) == (&earlier.executor, &earlier.deadline)
            });
            for pair in signed.windows(2) {
                let (earlier, later) = (pair[0], pair[1]);
                let deadline: f64 = earlier.deadline.parse()?;
                assert!(
                    later.at.0 >= deadline,
                    "{} signed a second award for intent {intent_id} on chain {chain_id} while the first could still \
                     settle: {earlier:?} then {later:?} (signed {:.3} s before the first deadline)",
                    node.name(),
                    deadline - later.at.0
                );
                re_awards += 1;
            }
        }
        summary.push(format!(
            "{}: {} vote(s) for {} intent(s), {re_awards} re-award(s) after an expiry",
            node.name(),
            votes.len(),
            awards.len()
        ));
    }
    eprintln!(
        "[test] {}; {} after its restart: {} vote(s), restored-auctions events {restored}, refused votes {}",
        summary.join("; "),
        victim.name(),
        node_log::signed_votes(&restarted)?.len(),
        node_log::count(&restarted, "did not sign award", None),
    );

    Ok(())
}
