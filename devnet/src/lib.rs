//! Backstop on one machine: several anvil chains with the contracts deployed and wired,
//! accounts opened at chosen leverage, Backstop nodes and solvers running as real
//! processes on loopback, price scenarios and the report they end with.
//!
//! ```no_run
//! # async fn demo() -> Result<(), backstop_devnet::DevnetError> {
//! let devnet = backstop_devnet::Devnet::builder().chains(2).nodes(3).threshold(2).margin_solvers(&[200, 500, 1_000]).start().await?;
//! let crash = devnet.crash(2_500).await?;
//! let observed = devnet.await_settlement(&crash, std::time::Duration::from_secs(90)).await?;
//! println!("{}", devnet.report(&crash, &observed).await?.render());
//! # Ok(()) }
//! ```
//! Everything the devnet starts stops when the [`Devnet`] is dropped.

pub mod binaries;
pub mod chain;
// dex: Uniswap V2 pools per chain (issue #14)
pub mod dex;
pub mod figures;
pub mod keys;
pub mod manifest;
pub mod market;
pub mod node;
pub mod population;
pub mod process;
pub mod report;
pub mod scenario;
pub mod solver;
pub mod wait;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use futures::future::try_join_all;

pub use chain::LocalChain;
pub use market::{
    CollateralSpec, DeployedCollateral, Deployment, MarketParameters, OracleSettings, Position, PositionProfile,
};
pub use node::{AuctionWindows, LogFormat, NodeProcess};
pub use report::Report;
pub use scenario::{Crash, CrashStep, Observed};
pub use wait::wait_for;

use crate::keys::EvmKey;
use crate::manifest::{AccountEntry, ChainEntry, Manifest, NodeEntry, SolverEntry};
use crate::node::{NodeSetup, WatchedChain};
use crate::solver::{SolverProcess, SolverSetup, SolverStrategy};

/// Margins (basis points of the liquidation bonus) of the devnet's default solvers: three
/// margin bots competing, so the protocol recaptures the bonus minus the tightest margin.
pub const DEFAULT_MARGIN_BPS: [u32; 2] = [200, 500];
/// The devnet's default flash-swap bot (issue #15): it keeps this many basis points of what
/// the seized collateral sells for on the chain's Uniswap V2 pools beyond the repay.
pub const DEFAULT_FLASH_BPS: [u32; 1] = [300];

/// The first chain id; further chains count up from it.
pub const FIRST_CHAIN_ID: u64 = 31_337;

#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("{name} not found (looked in {searched}): {fix}")]
    BinaryNotFound { name: String, searched: String, fix: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("invalid config {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("invalid devnet setup: {0}")]
    Setup(String),
    #[error("chain {chain_id}: {step} failed: {reason}")]
    Chain { chain_id: u64, step: String, reason: String },
    #[error("{name} {reason}; its log is {log}; last lines:\n{tail}")]
    ProcessNotReady { name: String, reason: String, log: PathBuf, tail: String },
    #[error("timed out after {timeout:?} waiting for {what}{}", if pending.is_empty() { String::new() } else { format!(": still pending: {pending}") })]
    Timeout { what: String, timeout: Duration, pending: String },
    #[error("solver: {0}")]
    Solver(String),
}

/// One chain of the devnet with its market and accounts.
pub struct DevnetChain {
    pub chain: LocalChain,
    pub deployment: Deployment,
    /// The chain's Uniswap V2 pools (`dex`, issue #14).
    pub dex: dex::DexDeployment,
    pub positions: Vec<Position>,
    /// Bulk-opened accounts ([`population`]), beyond the scenario's profiled `positions`.
    pub population: Vec<Address>,
}

/// A running devnet. Field order is drop order: solvers and nodes stop before the chains.
pub struct Devnet {
    solvers: Vec<SolverProcess>,
    nodes: Vec<NodeProcess>,
    chains: Vec<DevnetChain>,
    parameters: MarketParameters,
    dir: PathBuf,
    remove_dir_on_drop: bool,
    manifest: Manifest,
}

impl Devnet {
    pub fn builder() -> DevnetBuilder {
        DevnetBuilder::default()
    }

    pub fn chains(&self) -> &[DevnetChain] {
        &self.chains
    }

    pub fn parameters(&self) -> &MarketParameters {
        &self.parameters
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// `(name, bps, executor)` of every solver: the premium bps of a fixed-premium
    /// solver, the margin bps of a margin bot (see [`Devnet::solver_strategies`]).
    pub fn solvers(&self) -> Vec<(String, u32, Address)> {
        self.solvers
            .iter()
            .map(|solver| (solver.setup.name.clone(), solver.setup.strategy.bps(), solver.setup.executor.address()))
            .collect()
    }

    /// `(name, strategy, executor)` of every solver.
    pub fn solver_strategies(&self) -> Vec<(String, SolverStrategy, Address)> {
        self.solvers
            .iter()
            .map(|solver| (solver.setup.name.clone(), solver.setup.strategy, solver.setup.executor.address()))
            .collect()
    }

    /// The committee's node processes, in index order (`node-0`, `node-1`, ...): to kill
    /// and restart one ([`NodeProcess::kill`], [`NodeProcess::restart`]) or read its log.
    pub fn nodes(&self) -> &[NodeProcess] {
        &self.nodes
    }

    /// Fails if a node or solver process has exited.
    pub fn check_processes(&self) -> Result<(), DevnetError> {
        for node in &self.nodes {
            node.process.check_alive()?;
        }
        for solver in &self.solvers {
            solver.process.check_alive()?;
        }
        Ok(())
    }

    /// Stops solvers, nodes and chains, in that order.
    pub fn shutdown(mut self) {
        self.stop_processes();
    }

    fn stop_processes(&mut self) {
        for solver in &self.solvers {
            solver.process.stop();
        }
        for node in &self.nodes {
            node.process.stop();
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.stop_processes();
        // Keep the logs of a failed test; tidy up after a passing one.
        if self.remove_dir_on_drop && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Builds and starts a [`Devnet`].
#[derive(Debug, Clone)]
pub struct DevnetBuilder {
    chains: usize,
    nodes: usize,
    threshold: usize,
    solver_strategies: Vec<SolverStrategy>,
    dir: Option<PathBuf>,
    first_chain_id: u64,
    parameters: MarketParameters,
    profiles: Vec<PositionProfile>,
    windows: AuctionWindows,
    ready_timeout: Duration,
    node_log_format: LogFormat,
    population: usize,
    seed: u64,
}

impl Default for DevnetBuilder {
    fn default() -> Self {
        Self {
            chains: 2,
            nodes: 3,
            threshold: 2,
            solver_strategies: DEFAULT_MARGIN_BPS
                .iter()
                .map(|&bps| SolverStrategy::Margin { bps })
                .chain(DEFAULT_FLASH_BPS.iter().map(|&bps| SolverStrategy::FlashSwap { bps }))
                .collect(),
            dir: None,
            first_chain_id: FIRST_CHAIN_ID,
            parameters: MarketParameters::default(),
            profiles: market::default_profiles(),
            windows: AuctionWindows::default(),
            ready_timeout: Duration::from_secs(60),
            node_log_format: LogFormat::Text,
            population: 0,
            seed: 1,
        }
    }
}

impl DevnetBuilder {
    pub fn chains(mut self, chains: usize) -> Self {
        self.chains = chains;
        self
    }

    /// Committee nodes; 0 deploys and seeds the chains without starting any process.
    pub fn nodes(mut self, nodes: usize) -> Self {
        self.nodes = nodes;
        self
    }

    pub fn threshold(mut self, threshold: usize) -> Self {
        self.threshold = threshold;
        self
    }

    /// One fixed-premium solver per entry, bidding that many basis points of the repay.
    pub fn solvers(mut self, premium_bps: &[u32]) -> Self {
        self.solver_strategies = premium_bps.iter().map(|&bps| SolverStrategy::FixedPremium { bps }).collect();
        self
    }

    /// One margin bot per entry, keeping that many basis points of the liquidation bonus
    /// (the default: [`DEFAULT_MARGIN_BPS`], with [`DEFAULT_FLASH_BPS`] flash-swap bots).
    /// Replaces every solver, the default flash-swap bot included (`margin_solvers(&[])`:
    /// no solver processes); add flash-swap bots after it with [`Self::flash_solvers`].
    pub fn margin_solvers(mut self, margin_bps: &[u32]) -> Self {
        self.solver_strategies = margin_bps.iter().map(|&bps| SolverStrategy::Margin { bps }).collect();
        self
    }

    /// One flash-swap bot per entry (issue #15), keeping that many basis points of the DEX
    /// surplus (the default: [`DEFAULT_FLASH_BPS`]); each gets a `FlashLiquidator` per chain.
    /// Replaces the flash-swap bots only.
    pub fn flash_solvers(mut self, flash_bps: &[u32]) -> Self {
        self.solver_strategies.retain(|strategy| !matches!(strategy, SolverStrategy::FlashSwap { .. }));
        self.solver_strategies.extend(flash_bps.iter().map(|&bps| SolverStrategy::FlashSwap { bps }));
        self
    }

    /// Where keys, configs, logs and the manifest go. Without it: a fresh directory
    /// under the system temp dir, removed on drop unless a panic is unwinding.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    pub fn first_chain_id(mut self, chain_id: u64) -> Self {
        self.first_chain_id = chain_id;
        self
    }

    pub fn parameters(mut self, parameters: MarketParameters) -> Self {
        self.parameters = parameters;
        self
    }

    pub fn profiles(mut self, profiles: Vec<PositionProfile>) -> Self {
        self.profiles = profiles;
        self
    }

    pub fn auction_windows(mut self, windows: AuctionWindows) -> Self {
        self.windows = windows;
        self
    }

    /// How long each node and solver gets to write its `ready.json`.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Bulk accounts to open on every chain besides the profiled ones (seeded leverage).
    pub fn population(mut self, accounts: usize) -> Self {
        self.population = accounts;
        self
    }

    /// Seed of the population's draw.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The format of every node's `node.log` (default: text).
    pub fn node_log_format(mut self, format: LogFormat) -> Self {
        self.node_log_format = format;
        self
    }

    pub async fn start(self) -> Result<Devnet, DevnetError> {
        let committee_size = if self.nodes == 0 { self.threshold.max(1) } else { self.nodes };
        if self.chains == 0 {
            return Err(DevnetError::Setup("at least one chain is needed".into()));
        }
        if self.threshold == 0 || self.threshold > committee_size {
            return Err(DevnetError::Setup(format!(
                "threshold {} must be between 1 and the committee size {committee_size}",
                self.threshold
            )));
        }
        if self.nodes == 0 && !self.solver_strategies.is_empty() {
            return Err(DevnetError::Setup("solvers need nodes to bid through".into()));
        }

        // Find every program before starting anything.
        let anvil = binaries::anvil()?;
        let node_binary = if self.nodes > 0 { Some(binaries::node()?) } else { None };
        let devnet_binary = if self.solver_strategies.is_empty() { None } else { Some(binaries::devnet()?) };

        let (dir, remove_dir_on_drop) = match &self.dir {
            Some(dir) => (prepare_dir(dir)?, false),
            None => (prepare_dir(&temp_dir())?, true),
        };

        let node_setups: Vec<NodeSetup> =
            (0..self.nodes).map(|index| NodeSetup::new(&dir.join("nodes"), index)).collect::<Result<_, _>>()?;
        let attesters: Vec<Address> = if node_setups.is_empty() {
            (0..committee_size).map(|_| EvmKey::random().address()).collect()
        } else {
            node_setups.iter().map(|node| node.attester.address()).collect()
        };
        let solver_setups: Vec<SolverSetup> = self
            .solver_strategies
            .iter()
            .enumerate()
            .map(|(index, strategy)| SolverSetup::new(&dir.join("solvers"), index, *strategy))
            .collect();
        let executors: Vec<Address> = solver_setups.iter().map(|solver| solver.executor.address()).collect();

        // Chains: start with instant mining so deployment and seeding are quick.
        let mut launched = Vec::new();
        for index in 0..self.chains {
            let chain_id = self.first_chain_id + index as u64;
            let accounts: Vec<(EvmKey, PositionProfile)> =
                self.profiles.iter().map(|profile| (EvmKey::random(), profile.clone())).collect();
            let signers: Vec<_> = accounts.iter().map(|(key, _)| key.signer.clone()).collect();
            let log = dir.join(format!("chains/{chain_id}/anvil.log"));
            create_parent(&log)?;
            // Bulk seeding opens thousands of accounts per transaction.
            let extra: &[&str] = if self.population > 0 { &["--gas-limit", "1000000000"] } else { &[] };
            let chain = LocalChain::spawn_with_args(&anvil, chain_id, &log, &signers, extra)?;
            eprintln!("[devnet] chain {chain_id}: anvil at {}", chain.rpc_url);
            launched.push((chain, accounts));
        }
        eprintln!("[devnet] deploying contracts and opening {} accounts per chain...", self.profiles.len());
        let parameters = &self.parameters;
        let threshold = self.threshold as u64;
        let population_size = self.population;
        let seed = self.seed;
        let chains: Vec<DevnetChain> = try_join_all(launched.into_iter().map(|(chain, accounts)| {
            let attesters = attesters.clone();
            let executors = executors.clone();
            async move {
                let deployment = market::deploy(&chain, parameters, attesters, threshold, &executors).await?;
                // dex (issue #14): Uniswap V2 pools between every collateral and USD.
                let dex = dex::deploy(&chain, &deployment, parameters).await?;
                let positions = market::open_positions(&chain, &deployment, parameters, &accounts).await?;
                let spec = population::PopulationSpec::new(population_size, seed.wrapping_add(chain.chain_id));
                let chain_id = chain.chain_id;
                let mut last_shown = 0;
                let population = population::open(&chain, &deployment, parameters, &spec, |opened| {
                    if opened == population_size || opened >= last_shown + 2_000 {
                        last_shown = opened;
                        eprintln!("[devnet] chain {chain_id}: {opened}/{population_size} population accounts opened");
                    }
                })
                .await?;
                chain.start_interval_mining(1).await?;
                eprintln!(
                    "[devnet] chain {}: settlement {} engine {} ; {} accounts opened; 1 s blocks",
                    chain.chain_id,
                    deployment.settlement,
                    deployment.engine,
                    positions.len()
                );
                Ok::<_, DevnetError>(DevnetChain { chain, deployment, dex, positions, population })
            }
        }))
        .await?;

        let mut devnet = Devnet {
            solvers: Vec::new(),
            nodes: Vec::new(),
            chains,
            parameters: self.parameters.clone(),
            dir: dir.clone(),
            remove_dir_on_drop,
            manifest: Manifest {
                dir: dir.clone(),
                parameters: self.parameters.clone(),
                chains: Vec::new(),
                nodes: Vec::new(),
                solvers: Vec::new(),
            },
        };
        let watched: Vec<WatchedChain> = devnet
            .chains
            .iter()
            .map(|chain| WatchedChain {
                chain_id: chain.chain.chain_id,
                rpc_url: chain.chain.rpc_url.clone(),
                settlement: chain.deployment.settlement,
                solver_registry: chain.deployment.solver_registry,
                start_block: chain.deployment.deploy_block,
            })
            .collect();

        // Nodes: every node bootstraps to every other, so the mesh does not hinge on one.
        if let Some(node_binary) = node_binary {
            let addresses: Vec<String> = node_setups.iter().map(NodeSetup::listen_addr).collect();
            for setup in node_setups {
                let others: Vec<String> =
                    addresses.iter().filter(|address| **address != setup.listen_addr()).cloned().collect();
                setup.write(&others, &watched, &self.windows)?;
                let process = setup.start(&node_binary, self.node_log_format)?;
                devnet.nodes.push(NodeProcess { setup, process, ready: None });
            }
            eprintln!("[devnet] waiting for {} node(s) to listen and watch...", devnet.nodes.len());
            for node in &mut devnet.nodes {
                let ready = node.wait_ready(self.ready_timeout).await?.clone();
                eprintln!("[devnet]   {} ready: {} {}", node.setup.name, ready.peer_id, ready.listen_addrs.join(" "));
            }
            // Listening is not watching: wait until every node has indexed every chain
            // (its accounts included), as its /health says.
            eprintln!("[devnet] waiting for the nodes to index the chains...");
            for node in &devnet.nodes {
                let Some(api) = node.ready.as_ref().and_then(|ready| ready.api.clone()) else { continue };
                let url = format!("http://{api}/health");
                wait_for(&format!("{} caught up (/health)", node.setup.name), self.ready_timeout, || async {
                    matches!(alloy::transports::http::reqwest::get(&url).await, Ok(response) if response.status().is_success())
                })
                .await?;
            }
        }

        if let Some(devnet_binary) = devnet_binary {
            let bootstrap: Vec<String> = devnet.nodes.iter().map(|node| node.setup.listen_addr()).collect();
            let chains: Vec<(u64, String, Address, Address, Option<Address>)> = watched
                .iter()
                .zip(&devnet.chains)
                .map(|(chain, deployed)| {
                    let weth = deployed.deployment.collateral("WETH").map(|collateral| collateral.token);
                    (chain.chain_id, chain.rpc_url.clone(), chain.settlement, chain.solver_registry, weth)
                })
                .collect();
            for mut setup in solver_setups {
                setup.deploy_flash_liquidators(&devnet.chains).await?; // flash-swap solvers only (issue #15)
                setup.write(&bootstrap, &chains)?;
                let process = setup.start(&devnet_binary)?;
                devnet.solvers.push(SolverProcess { setup, process, ready: None });
            }
            eprintln!("[devnet] waiting for {} solver(s)...", devnet.solvers.len());
            for solver in &mut devnet.solvers {
                solver.wait_ready(self.ready_timeout).await?;
                eprintln!(
                    "[devnet]   {} ready: executor {} ({} {} bps)",
                    solver.setup.name,
                    solver.setup.executor.address(),
                    solver.setup.strategy.name(),
                    solver.setup.strategy.bps()
                );
            }
        }

        devnet.manifest = devnet.build_manifest();
        let path = dir.join("manifest.json");
        let json =
            serde_json::to_string_pretty(&devnet.manifest).map_err(|error| DevnetError::Setup(error.to_string()))?;
        std::fs::write(&path, json).map_err(|source| DevnetError::Io { path: path.clone(), source })?;
        eprintln!("[devnet] manifest: {}", path.display());
        Ok(devnet)
    }
}

impl Devnet {
    fn build_manifest(&self) -> Manifest {
        Manifest {
            dir: self.dir.clone(),
            parameters: self.parameters.clone(),
            chains: self
                .chains
                .iter()
                .map(|chain| ChainEntry {
                    chain_id: chain.chain.chain_id,
                    rpc_url: chain.chain.rpc_url.clone(),
                    log: self.dir.join(format!("chains/{}/anvil.log", chain.chain.chain_id)),
                    deployer: chain.chain.deployer_address(),
                    deployer_key: chain.chain.deployer.to_bytes(),
                    deployment: chain.deployment.clone(),
                    dex: chain.dex.clone(),
                    accounts: chain
                        .positions
                        .iter()
                        .map(|position| AccountEntry {
                            address: position.address(),
                            key: position.key.secret(),
                            collateral: chain
                                .deployment
                                .collaterals
                                .iter()
                                .zip(&position.collateral)
                                .map(|(deployed, (_, amount))| (deployed.symbol.clone(), amount.to_string()))
                                .collect(),
                            debt: position.debt.to_string(),
                            collateral_ratio_bps: position.profile.collateral_ratio_bps,
                        })
                        .collect(),
                })
                .collect(),
            nodes: self
                .nodes
                .iter()
                .map(|node| NodeEntry {
                    name: node.setup.name.clone(),
                    dir: node.setup.dir.clone(),
                    config: node.setup.config_path(),
                    log: node.setup.log_path(),
                    peer_id: node
                        .ready
                        .as_ref()
                        .map(|ready| ready.peer_id.clone())
                        .unwrap_or_else(|| node.setup.peer.peer_id()),
                    listen_addrs: node
                        .ready
                        .as_ref()
                        .map(|ready| ready.listen_addrs.clone())
                        .unwrap_or_else(|| vec![node.setup.listen_addr()]),
                    attester: node.setup.attester.address(),
                    attester_key: node.setup.attester.secret(),
                })
                .collect(),
            solvers: self
                .solvers
                .iter()
                .map(|solver| SolverEntry {
                    name: solver.setup.name.clone(),
                    dir: solver.setup.dir.clone(),
                    config: solver.setup.config_path(),
                    log: solver.setup.log_path(),
                    strategy: solver.setup.strategy.name().into(),
                    bps: solver.setup.strategy.bps(),
                    peer_id: solver
                        .ready
                        .as_ref()
                        .map(|ready| ready.peer_id.clone())
                        .unwrap_or_else(|| solver.setup.peer.peer_id()),
                    executor: solver.setup.executor.address(),
                    executor_key: solver.setup.executor.secret(),
                })
                .collect(),
        }
    }

    /// The market id every chain registered (the engine's `marketIdOf`).
    pub fn market_id(&self, chain_index: usize) -> Option<B256> {
        self.chains.get(chain_index).map(|chain| chain.deployment.market_id)
    }
}

fn temp_dir() -> PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    std::env::temp_dir().join(format!("backstop-devnet-{}-{nanos}", std::process::id()))
}

/// Creates `dir`, or empties it if an earlier devnet left it behind (its chains are gone,
/// so its node databases would only confuse new nodes). Refuses other non-empty dirs.
fn prepare_dir(dir: &Path) -> Result<PathBuf, DevnetError> {
    let io = |source| DevnetError::Io { path: dir.to_path_buf(), source };
    if dir.exists() {
        let is_empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
        if !is_empty {
            if !dir.join("manifest.json").exists() && !dir.join("nodes").exists() && !dir.join("chains").exists() {
                return Err(DevnetError::Setup(format!(
                    "{} exists and does not look like a devnet directory; choose another --dir",
                    dir.display()
                )));
            }
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::canonicalize(dir).map_err(io)
}

fn create_parent(path: &Path) -> Result<(), DevnetError> {
    match path.parent() {
        Some(parent) => {
            std::fs::create_dir_all(parent).map_err(|source| DevnetError::Io { path: parent.to_path_buf(), source })
        }
        None => Ok(()),
    }
}
