//! Backstop peer node.
//!
//! Data flows one way: block → [`chain`] watcher → [`risk`] scan → intent → gossip →
//! commits → reveals → winner → [`committee`] vote → settle (by the solver) →
//! `Settled` event → the auction closes. The [`core`] is sans I/O and judges every
//! message with the auction core shared with solvers (`backstop_protocol::auction`);
//! the [`runtime`] performs its effects; [`store`] makes them survive restarts.
//! The [`api`] serves [`metrics`] and [`status`] to the operator. `main.rs` is a thin
//! shell over [`cli`].

pub mod api;
pub mod chain;
pub mod cli;
pub mod committee;
pub mod config;
pub mod core;
pub mod keys;
pub mod metrics;
pub mod observe;
pub mod risk;
pub mod runtime;
pub mod status;
pub mod store;

use std::collections::HashMap;
use std::time::Duration;

use backstop_net::{self as net, GossipConfig};
use eyre::WrapErr;
use tokio::sync::mpsc;

use backstop_protocol::auction::{Admission, ChainContext, Committee as CommitteeSet, SolverSet};
use backstop_protocol::clock::SystemClock;

use crate::chain::{ChainError, WatcherContext};
use crate::committee::Committee;
use crate::config::NodeConfig;
use crate::core::Core;
use crate::runtime::Runtime;
use crate::store::Store;

/// A node running in this process.
pub struct RunningNode {
    pub peer_id: String,
    /// Bound listen addresses (port 0 resolved).
    pub listen_addrs: Vec<String>,
    /// Bound operator API address, if enabled.
    pub api_addr: Option<std::net::SocketAddr>,
    pub metrics: metrics::SharedMetrics,
    pub status: status::SharedStatus,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts a node: opens the store, checks every chain, joins gossip, restores open
/// auctions and spawns the chain watchers and the core. Returns once it is listening.
pub async fn start(config: NodeConfig) -> eyre::Result<RunningNode> {
    let peer_key = keys::load_peer_key(&config.peer_key)?;
    let attester = config.attester_key.as_deref().map(keys::load_attester_key).transpose()?;
    std::fs::create_dir_all(&config.data_dir)
        .wrap_err_with(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    let store = Store::open(&config.data_dir.join("db"))?;

    let mut contexts = Vec::new();
    let mut providers = Vec::new();
    for chain in &config.chains {
        let provider = chain::provider(chain)?;
        let attesters = wait_for_chain(&provider, chain).await?;
        let mut context = ChainContext::new(chain.chain_id, chain.settlement);
        context.committee = CommitteeSet::new(attesters, 1);
        context.admission = match chain.solver_registry {
            Some(_) => Admission::Bonded(SolverSet::default()),
            None => {
                observe::admission_open(chain.chain_id);
                Admission::Open
            }
        };
        contexts.push(context);
        providers.push((chain.clone(), provider));
    }

    let parse = |text: &String| text.parse().wrap_err_with(|| format!("invalid multiaddr {text}"));
    let (gossip, inbound) = net::spawn(GossipConfig {
        listen: config.listen.iter().map(parse).collect::<eyre::Result<_>>()?,
        bootstrap: config.bootstrap.iter().map(parse).collect::<eyre::Result<_>>()?,
        chains: config.chains.iter().map(|chain| chain.chain_id).collect(),
        heartbeat: Duration::from_millis(200),
        ..GossipConfig::new(peer_key.to_bytes())
    })
    .await?;
    let peer_id = gossip.peer_id().to_string();
    let listen_addrs: Vec<String> = gossip.listen_addrs().iter().map(ToString::to_string).collect();

    let committee = attester.map(|signer| Committee::new(signer, store.clone()));
    observe::node_started(&peer_id, &listen_addrs, committee.as_ref().map(Committee::address));
    // A stored cursor means this data dir ran before: a restart, not a first start.
    let restarted = config.chains.iter().any(|chain| matches!(store.cursor(chain.chain_id), Ok(Some(_))));
    let mut core = Core::new(peer_key, config.auction.clone(), contexts, committee.is_some());
    if let Some(committee) = &committee {
        core.set_attester(committee.address());
    }
    let mut restored = 0;
    for id in store.open_auctions()? {
        let envelopes = store.auction_messages(id)?;
        let vote = store.vote(id)?.map(|record| record.award);
        if core.restore_auction(id, &envelopes, vote) {
            restored += 1;
        }
    }
    observe::auctions_restored(restored);
    if restarted && !config.auction.restart_quiet.is_zero() {
        let quiet_ms = u64::try_from(config.auction.restart_quiet.as_millis()).unwrap_or(u64::MAX);
        core.stay_quiet_until(backstop_protocol::timing::now_ms().saturating_add(quiet_ms));
    }

    let metrics = std::sync::Arc::new(metrics::Metrics::new());
    let status = status::SharedStatus::default();
    status.update(|status| {
        status.peer_id = peer_id.clone();
        status.listen_addrs = listen_addrs.clone();
        status.committee_member = committee.as_ref().map(Committee::address);
    });
    let api_addr = match &config.api_listen {
        Some(listen) => Some(api::serve(listen, metrics.clone(), status.clone()).await?),
        None => None,
    };

    let (events_tx, events_rx) = mpsc::channel(4096);
    let mut chain_reads = HashMap::new();
    let reconfirm = chain::ReconfirmRequests::default();
    for (chain, provider) in providers {
        chain_reads.insert(chain.chain_id, backstop_bindings::batch::Coalescer::new(provider.clone()));
        status.chain(chain.chain_id, |_| {});
        tokio::spawn(chain::supervise(WatcherContext {
            config: chain,
            risk: config.risk.clone(),
            provider,
            store: store.clone(),
            events: events_tx.clone(),
            metrics: metrics.clone(),
            status: status.clone(),
            reconfirm: reconfirm.clone(),
        }));
    }
    drop(events_tx);

    let ready = serde_json::json!({
        "peer_id": peer_id,
        "listen_addrs": listen_addrs,
        "api": api_addr.map(|addr| addr.to_string()),
    });
    std::fs::write(config.data_dir.join("ready.json"), ready.to_string()).wrap_err("cannot write ready.json")?;
    let runtime = Runtime {
        core,
        gossip,
        store,
        committee,
        reads: chain_reads,
        clock: std::sync::Arc::new(SystemClock),
        metrics: metrics.clone(),
        status: status.clone(),
        confirmed: Default::default(),
        reconfirm,
    };
    let task = tokio::spawn(runtime.run(inbound, events_rx));
    Ok(RunningNode { peer_id, listen_addrs, api_addr, metrics, status, task })
}

/// Checks the chain is the configured one and the settlement contract exists, retrying
/// while the RPC is unreachable (it may start after the node).
async fn wait_for_chain(
    provider: &alloy::providers::DynProvider,
    chain: &config::ChainConfig,
) -> eyre::Result<Vec<alloy::primitives::Address>> {
    let mut backoff = Duration::from_millis(250);
    loop {
        match chain::attesters(provider, chain.chain_id, chain.settlement).await {
            Ok(attesters) => return Ok(attesters),
            Err(error @ (ChainError::NoCode { .. } | ChainError::WrongChain { .. })) => return Err(error.into()),
            Err(error) => {
                observe::rpc_error(chain.chain_id, &error);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
