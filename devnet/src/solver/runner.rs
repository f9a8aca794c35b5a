//! The `backstop-devnet solver` process: one `backstop-solver-sdk` client with the
//! margin, flash-swap or fixed-premium strategy, logging every auction outcome.

use std::path::Path;

use alloy::signers::local::PrivateKeySigner;
use backstop_solver_sdk::strategies::{FixedPremium, FlashSwap, Margin};
use backstop_solver_sdk::{
    AuctionOutcome, Bid, ChainEndpoint, IntentView, SolverClient, SolverConfig, SolverHandle, Strategy, U256,
};
use libp2p::Multiaddr;

use super::{SolverFile, SolverStrategy};
use crate::keys::read_secret;
use crate::process::Ready;
use crate::DevnetError;

/// How long to wait for connections to the bootstrap nodes before reporting ready anyway.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Starts the client with `strategy`, or with it wrapped in [`NoShow`] when a no-show log is set.
async fn start<S: Strategy>(
    config: SolverConfig,
    strategy: S,
    no_show: Option<std::path::PathBuf>,
) -> Result<SolverHandle, backstop_solver_sdk::SolverError> {
    match no_show {
        Some(log) => SolverClient::start(config, NoShow { inner: strategy, log }).await,
        None => SolverClient::start(config, strategy).await,
    }
}

/// Bids like `inner` and never settles what it wins: the `solver-no-show` scenario's
/// best bidder. Each intent it walks away from is appended to `log`.
struct NoShow<S> {
    inner: S,
    log: std::path::PathBuf,
}

impl<S: Strategy> Strategy for NoShow<S> {
    fn bid(&self, intent: &IntentView) -> impl std::future::Future<Output = Option<Bid>> + Send {
        self.inner.bid(intent)
    }

    fn on_outcome(&self, outcome: &AuctionOutcome) {
        self.inner.on_outcome(outcome);
    }

    fn settles(&self, award: &backstop_protocol::Award) -> bool {
        use std::io::Write as _;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .and_then(|mut file| writeln!(file, "{}", award.intentId));
        if let Err(error) = written {
            tracing::warn!(log = %self.log.display(), %error, "could not record a no-show");
        }
        false
    }
}

pub async fn run(config_path: &Path) -> Result<(), DevnetError> {
    let file = SolverFile::load(config_path)?;
    let config_error = |reason: String| DevnetError::Config { path: config_path.into(), reason };
    let parse = |addresses: &[String]| -> Result<Vec<Multiaddr>, DevnetError> {
        addresses
            .iter()
            .map(|address| address.parse().map_err(|error| config_error(format!("bad multiaddr {address}: {error}"))))
            .collect()
    };
    let peer_secret_key = read_secret(&file.peer_key)?;
    let mut chains = Vec::new();
    for chain in &file.chains {
        let secret = read_secret(&chain.executor_key)?;
        let executor = PrivateKeySigner::from_bytes(&secret.into())
            .map_err(|error| config_error(format!("executor key {}: {error}", chain.executor_key.display())))?;
        chains.push(ChainEndpoint {
            chain_id: chain.chain_id,
            rpc_url: chain.rpc_url.clone(),
            settlement: chain.settlement,
            executor,
            solver_registry: chain.solver_registry,
            native_price_asset: chain.native_price_asset,
            flash_liquidator: chain.flash_liquidator,
        });
    }
    let config =
        SolverConfig { peer_secret_key, listen: parse(&file.listen)?, bootstrap: parse(&file.bootstrap)?, chains };
    let strategy = file.strategy().map_err(config_error)?;
    let no_show = file.no_show_log.clone();
    let started: Result<SolverHandle, _> = match strategy {
        SolverStrategy::FixedPremium { bps } => start(config, FixedPremium { bps }, no_show).await,
        SolverStrategy::Margin { bps } => {
            start(config, Margin { margin_bps: bps, min_margin: U256::ZERO }, no_show).await
        }
        SolverStrategy::FlashSwap { bps } => {
            start(config, FlashSwap { margin_bps: bps, min_margin: U256::ZERO }, no_show).await
        }
    };
    let handle = started.map_err(|error| DevnetError::Solver(format!("{} failed to start: {error}", file.name)))?;
    let mut outcomes = handle.outcomes();
    tracing::info!(solver = %file.name, strategy = strategy.name(), bps = strategy.bps(), "solver started");

    // Ready means connected to every node (the gossip subscriptions travel with the
    // connection), so a scenario started right after does not outrun us.
    let wanted_peers = file.bootstrap.len();
    let connecting_since = std::time::Instant::now();
    while handle.peer_count().await < wanted_peers {
        if connecting_since.elapsed() > CONNECT_TIMEOUT {
            tracing::warn!(solver = %file.name, wanted_peers, "not connected to every bootstrap peer yet; going on");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    if let Some(ready_file) = &file.ready_file {
        let ready = Ready {
            peer_id: handle.peer_id().to_string(),
            listen_addrs: handle.listen_addrs().iter().map(ToString::to_string).collect(),
            api: None,
        };
        let json = serde_json::to_string(&ready).map_err(|error| DevnetError::Solver(error.to_string()))?;
        std::fs::write(ready_file, json).map_err(|source| DevnetError::Io { path: ready_file.clone(), source })?;
    }

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|source| DevnetError::Io { path: "SIGTERM handler".into(), source })?;
    let mut tally: std::collections::BTreeMap<&'static str, u64> = std::collections::BTreeMap::new();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            outcome = outcomes.recv() => match outcome {
                Ok(outcome) => {
                    *tally.entry(outcome.label()).or_default() += 1;
                    // The SDK logs every outcome at info; this line adds the solver's name.
                    tracing::debug!(
                    solver = %file.name,
                    outcome = outcome.label(),
                    chain_id = outcome.chain_id(),
                    intent_id = %outcome.intent_id(),
                    detail = ?outcome,
                    "auction outcome"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(solver = %file.name, missed, "outcome log lagged")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return Err(DevnetError::Solver(format!("{}: the solver runtime stopped", file.name)));
                }
            },
        }
    }
    let net = handle.network_stats();
    let dropped = |kind: &backstop_solver_sdk::KindStats| (kind.dropped_over_budget, kind.dropped_queue_full);
    tracing::info!(
        solver = %file.name,
        outcomes = ?tally,
        intents_received = net.intent.received,
        dropped_intents = ?dropped(&net.intent),
        dropped_commits = ?dropped(&net.commit),
        dropped_reveals = ?dropped(&net.reveal),
        dropped_votes = ?dropped(&net.vote),
        peers = net.peers_connected,
        peers_below_publish = net.peers_below_publish,
        "shutting down (dropped: over a peer's budget, runtime behind)"
    );
    handle.shutdown().await;
    Ok(())
}
