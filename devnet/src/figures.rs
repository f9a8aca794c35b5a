//! What the nodes themselves measured, read from their operator APIs: the latency from a
//! block's arrival at a node to the intent that block made liquidatable (every intent a
//! node opened, and the first copy of each intent across the committee), and each node's
//! and each chain's resident memory.

use std::collections::HashMap;

use alloy::transports::http::reqwest;
use serde::Serialize;

use crate::{Devnet, DevnetError};

#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeFigures {
    /// Intents opened, summed over nodes.
    pub intents_opened: usize,
    /// Distinct intents (the first copy of each across nodes).
    pub intents: usize,
    /// Block first seen by a node -> its intent on gossip, every opened intent, ms.
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    /// The same for the first copy of each intent (what solvers see first).
    pub first_copy_p50_ms: f64,
    pub first_copy_p99_ms: f64,
    /// The watcher's share (block first seen -> confirmed on chain), every opened intent.
    pub watcher_p50_ms: f64,
    pub watcher_p99_ms: f64,
    /// Resident memory of each node process, MiB.
    pub node_rss_mib: Vec<(String, f64)>,
    /// Resident memory of each chain's anvil (run with `--prune-history`), MiB.
    pub chain_rss_mib: Vec<(u64, f64)>,
}

impl NodeFigures {
    pub fn render(&self) -> String {
        let rss: Vec<String> = self.node_rss_mib.iter().map(|(name, mib)| format!("{name} {mib:.0} MiB")).collect();
        let chains: Vec<String> =
            self.chain_rss_mib.iter().map(|(chain_id, mib)| format!("chain {chain_id} {mib:.0} MiB")).collect();
        format!(
            "node figures: {} intents ({} opened across nodes)\n  block -> intent: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (first copy: p50 {:.1} ms, p99 {:.1} ms)\n  of which block -> confirmed on chain (the watcher): p50 {:.1} ms, p99 {:.1} ms\n  resident memory: {}; anvil: {}\n",
            self.intents,
            self.intents_opened,
            self.latency_p50_ms,
            self.latency_p99_ms,
            self.latency_max_ms,
            self.first_copy_p50_ms,
            self.first_copy_p99_ms,
            self.watcher_p50_ms,
            self.watcher_p99_ms,
            rss.join(", "),
            chains.join(", ")
        )
    }
}

/// Nearest-rank percentile of a sorted sample.
fn percentile(sorted: &[f64], percent: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[(sorted.len() * percent).div_ceil(100).saturating_sub(1)])
}

/// Resident set of a process, MiB (Linux `/proc`).
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

impl Devnet {
    /// Reads every node's `/status` and memory.
    pub async fn node_figures(&self) -> Result<NodeFigures, DevnetError> {
        let mut all = Vec::new();
        let mut watcher = Vec::new();
        let mut first: HashMap<String, f64> = HashMap::new();
        let mut figures = NodeFigures::default();
        for chain in self.chains() {
            if let Some(mib) = rss_mib(chain.chain.pid()) {
                figures.chain_rss_mib.push((chain.chain.chain_id, mib));
            }
        }
        for node in self.nodes() {
            if let Some(pid) = node.process.id() {
                if let Some(mib) = rss_mib(pid) {
                    figures.node_rss_mib.push((node.name().to_string(), mib));
                }
            }
            let Some(api) = node.ready.as_ref().and_then(|ready| ready.api.clone()) else { continue };
            // Kept beside the node's log for whoever reads the run afterwards (gossip
            // verdicts by rule, RPC errors, confirmations deferred).
            if let Ok(metrics) = reqwest::get(format!("http://{api}/metrics")).await {
                if let Ok(text) = metrics.text().await {
                    let _ = std::fs::write(node.setup.dir.join("metrics.prom"), text);
                }
            }
            let url = format!("http://{api}/status");
            let status: serde_json::Value = reqwest::get(&url)
                .await
                .map_err(|error| DevnetError::Setup(format!("{url}: {error}")))?
                .json()
                .await
                .map_err(|error| DevnetError::Setup(format!("{url}: {error}")))?;
            for intent in status["recent_intents"].as_array().into_iter().flatten() {
                let (Some(id), Some(latency)) = (intent["intent_id"].as_str(), intent["latency_ms"].as_f64()) else {
                    continue;
                };
                all.push(latency);
                watcher.extend(intent["watcher_ms"].as_f64());
                let entry = first.entry(id.to_string()).or_insert(latency);
                *entry = entry.min(latency);
            }
        }
        let sorted = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values
        };
        let all = sorted(all);
        let firsts = sorted(first.into_values().collect());
        let watcher = sorted(watcher);
        figures.watcher_p50_ms = percentile(&watcher, 50).unwrap_or(0.0);
        figures.watcher_p99_ms = percentile(&watcher, 99).unwrap_or(0.0);
        figures.intents_opened = all.len();
        figures.intents = firsts.len();
        figures.latency_p50_ms = percentile(&all, 50).unwrap_or(0.0);
        figures.latency_p99_ms = percentile(&all, 99).unwrap_or(0.0);
        figures.latency_max_ms = all.last().copied().unwrap_or(0.0);
        figures.first_copy_p50_ms = percentile(&firsts, 50).unwrap_or(0.0);
        figures.first_copy_p99_ms = percentile(&firsts, 99).unwrap_or(0.0);
        Ok(figures)
    }
}
