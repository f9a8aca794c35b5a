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

pub mod baseline;
pub mod binaries;
pub mod chain;
pub mod charts;
// dex: Uniswap V2 pools per chain (issue #14)
pub mod dex;
pub mod figures;
pub mod keeper;
pub mod keys;
pub mod launch;
pub mod manifest;
pub mod market;
pub mod morpho;
pub mod node;
pub mod population;
pub mod prices;
pub mod process;
pub mod progress;
pub mod report;
pub mod run;
pub mod scan;
pub mod scenario;
pub mod scorecard;
pub mod solver;
pub mod wait;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, B256};

pub use chain::LocalChain;
pub use launch::DevnetBuilder;
pub use market::{
    CollateralSpec, DeployedCollateral, Deployment, MarketParameters, OracleSettings, Position, PositionProfile,
};
pub use node::{AuctionWindows, LogFormat, NodeProcess};
pub use report::Report;
pub use scenario::{Crash, CrashStep, Observed};
pub use wait::wait_for;

use crate::manifest::{AccountEntry, ChainEntry, Manifest, NodeEntry, SolverEntry};
use crate::solver::{SolverProcess, SolverStrategy};

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
    /// The twin protected only by open liquidation, when the devnet deploys one.
    pub baseline: Option<baseline::BaselineMarket>,
    /// Morpho Blue with Backstop's pre-liquidation adapter, on the first chain when asked for.
    pub morpho: Option<morpho::MorphoMarket>,
}

impl DevnetChain {
    /// Every account of the Backstop market: the profiled ones, then the population.
    pub fn accounts(&self) -> Vec<Address> {
        self.positions.iter().map(|position| position.address()).chain(self.population.iter().copied()).collect()
    }

    /// The chain's markets with their accounts: Backstop's, then the baseline's if any.
    pub fn books(&self) -> Vec<scan::MarketBook> {
        let mut books = vec![scan::MarketBook::new(scan::MarketKind::Backstop, &self.deployment, self.accounts())];
        if let Some(baseline) = &self.baseline {
            books.push(scan::MarketBook::new(scan::MarketKind::Baseline, &baseline.deployment, baseline.accounts()));
        }
        books
    }
}

/// A running devnet. Field order is drop order: solvers and nodes stop before the chains.
pub struct Devnet {
    pub(crate) keepers: Option<keeper::KeeperFleet>,
    pub(crate) solvers: Vec<SolverProcess>,
    pub(crate) nodes: Vec<NodeProcess>,
    pub(crate) chains: Vec<DevnetChain>,
    pub(crate) parameters: MarketParameters,
    pub(crate) dir: PathBuf,
    pub(crate) remove_dir_on_drop: bool,
    pub(crate) manifest: Manifest,
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

    /// Every keeper's address (the same on every chain).
    pub fn keeper_addresses(&self) -> Vec<Address> {
        self.keepers
            .as_ref()
            .map(|fleet| fleet.keepers.iter().map(|keeper| keeper.address()).collect())
            .unwrap_or_default()
    }

    /// Intents a no-show solver won and deliberately never settled (the `solver-no-show`
    /// scenario): a settlement of one of them is a runner-up's.
    pub fn no_show_intents(&self) -> std::collections::HashSet<B256> {
        self.solvers
            .iter()
            .filter(|solver| solver.setup.no_show)
            .filter_map(|solver| std::fs::read_to_string(solver.setup.no_show_log_path()).ok())
            .flat_map(|text| text.lines().filter_map(|line| line.trim().parse::<B256>().ok()).collect::<Vec<_>>())
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

impl Devnet {
    pub(crate) fn build_manifest(&self) -> Manifest {
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
                    baseline: chain.baseline.as_ref().map(|baseline| baseline.deployment.clone()),
                    morpho: chain.morpho.as_ref().map(|market| market.deployment.clone()),
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
            keepers: self
                .keepers
                .iter()
                .flat_map(|fleet| &fleet.keepers)
                .map(|keeper| manifest::KeeperEntry {
                    name: keeper.spec.name.clone(),
                    address: keeper.address(),
                    tip_share_bps: keeper.spec.tip_share_bps,
                    min_profit_usd: keeper.spec.min_profit_usd,
                })
                .collect(),
        }
    }

    /// The market id every chain registered (the engine's `marketIdOf`).
    pub fn market_id(&self, chain_index: usize) -> Option<B256> {
        self.chains.get(chain_index).map(|chain| chain.deployment.market_id)
    }
}
