//! Launching a devnet: chains first (contracts, markets, accounts), then the committee's
//! nodes, then the solvers, each waited for until it is ready, and the manifest that
//! tells outside tools where everything is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use futures::future::try_join_all;

use crate::baseline::{self, BaselineMarket};
use crate::keeper::{dex_exit, ChainKeepers, Keeper, KeeperFleet, KeeperSpec};
use crate::keys::EvmKey;
use crate::manifest::Manifest;
use crate::market::{self, MarketParameters, PositionProfile};
use crate::morpho::{MorphoMarket, MorphoParameters};
use crate::node::{AuctionWindows, LogFormat, NodeProcess, NodeSetup, WatchedChain};
use crate::scan::{MarketBook, MarketKind, PoolRef};
use crate::solver::{SolverProcess, SolverSetup, SolverStrategy};
use crate::{
    binaries, dex, population, wait_for, Devnet, DevnetChain, DevnetError, LocalChain, DEFAULT_FLASH_BPS,
    DEFAULT_MARGIN_BPS, FIRST_CHAIN_ID,
};

/// States each anvil keeps (`--prune-history`): a minute of 1 s blocks. Nodes read at most
/// 16 blocks back (an intent's `observedBlock`); the report reads the run's last block right
/// after the run and takes its per-block figures from the keepers' live scans.
const HISTORY_BLOCKS: &str = "64";

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
    baseline: bool,
    keepers: Vec<KeeperSpec>,
    no_show: Vec<usize>,
    morpho: bool,
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
            baseline: false,
            keepers: Vec::new(),
            no_show: Vec::new(),
            morpho: false,
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

    /// Deploys the baseline twin of every chain's market ([`crate::baseline`]): the same
    /// accounts, protected only by open first-come liquidation, for the report to compare.
    pub fn baseline(mut self, baseline: bool) -> Self {
        self.baseline = baseline;
        self
    }

    /// Keeper bots racing the open path of every market ([`crate::keeper`]); none by default.
    pub fn keepers(mut self, keepers: Vec<KeeperSpec>) -> Self {
        self.keepers = keepers;
        self
    }

    /// Solvers (by index, in the order they were added) that win auctions and never settle
    /// them, to exercise the runner-up path and the fallback.
    pub fn no_show_solvers(mut self, indices: &[usize]) -> Self {
        self.no_show = indices.to_vec();
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

    /// Deploys Morpho Blue, a market and Backstop's `MorphoPreLiquidation` adapter on the
    /// first chain, next to the reference engine (see [`crate::morpho`]).
    pub fn morpho(mut self, morpho: bool) -> Self {
        self.morpho = morpho;
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
            .map(|(index, strategy)| {
                let mut setup = SolverSetup::new(&dir.join("solvers"), index, *strategy);
                setup.no_show = self.no_show.contains(&index);
                setup
            })
            .collect();
        let executors: Vec<Address> = solver_setups.iter().map(|solver| solver.executor.address()).collect();

        // Chains: start with instant mining so deployment and seeding are quick.
        // One bar over the whole start: chains deployed, nodes listening, nodes caught up, solvers ready.
        let progress =
            crate::progress::bar((self.chains + 2 * self.nodes + self.solver_strategies.len()) as u64, "starting");
        progress.stage("deploying contracts and opening accounts");
        let progress = &progress;
        let mut launched = Vec::new();
        for index in 0..self.chains {
            let chain_id = self.first_chain_id + index as u64;
            let accounts: Vec<(EvmKey, PositionProfile)> =
                self.profiles.iter().map(|profile| (EvmKey::random(), profile.clone())).collect();
            let signers: Vec<_> = accounts.iter().map(|(key, _)| key.signer.clone()).collect();
            let log = dir.join(format!("chains/{chain_id}/anvil.log"));
            create_parent(&log)?;
            // anvil keeps a full copy of the state per block unless told otherwise: at 10,000
            // accounts a chain that grew by gigabytes a minute. The devnet and its report read
            // only recent state (nodes at most 16 blocks back, the report from live scans).
            let mut extra = vec!["--prune-history", HISTORY_BLOCKS];
            // Bulk seeding opens thousands of accounts per transaction.
            if self.population > 0 {
                extra.extend(["--gas-limit", "1000000000"]);
            }
            let chain = LocalChain::spawn_with_args(&anvil, chain_id, &log, &signers, &extra)?;
            crate::say!("[devnet] chain {chain_id}: anvil at {}", chain.rpc_url);
            launched.push((chain, accounts));
        }
        crate::say!("[devnet] deploying contracts and opening {} accounts per chain...", self.profiles.len());
        let parameters = &self.parameters;
        let threshold = self.threshold as u64;
        let population_size = self.population;
        let seed = self.seed;
        let with_baseline = self.baseline;
        let morpho_chain = self.morpho.then_some(self.first_chain_id);
        let keepers: Vec<Keeper> =
            self.keepers.iter().map(|spec| Keeper { spec: spec.clone(), key: EvmKey::random() }).collect();
        let keepers_ref = &keepers;
        let chains: Vec<DevnetChain> = try_join_all(launched.into_iter().map(|(chain, accounts)| {
            let attesters = attesters.clone();
            let executors = executors.clone();
            async move {
                let deployment = market::deploy(&chain, parameters, attesters, threshold, &executors).await?;
                // Uniswap V2 pools between every collateral and USD.
                let dex = dex::deploy(&chain, &deployment, parameters).await?;
                let positions = market::open_positions(&chain, &deployment, parameters, &accounts).await?;
                let spec = population::PopulationSpec::new(population_size, seed.wrapping_add(chain.chain_id));
                let chain_id = chain.chain_id;
                let mut last_shown = 0;
                let population = population::open(&chain, &deployment, parameters, &spec, |opened| {
                    if opened == population_size || opened >= last_shown + 2_000 {
                        last_shown = opened;
                        crate::say!("[devnet] chain {chain_id}: {opened}/{population_size} population accounts opened");
                    }
                })
                .await?;
                // Liquidators' capital scales with the book: every solver executor and every
                // keeper can repay the whole market's debt once (the float on top of that).
                let book_debt = population::draw(&spec, parameters)
                    .iter()
                    .map(|draw| draw.debt)
                    .chain(positions.iter().map(|position| position.debt))
                    .fold(alloy::primitives::U256::ZERO, |sum, debt| sum + debt);
                let usd = backstop_bindings::TestToken::new(deployment.usd, &chain.provider);
                for executor in &executors {
                    chain.confirm("mint executor capital", usd.mint(*executor, book_debt).send().await).await?;
                }
                let baseline = if with_baseline {
                    let twin = baseline::deploy(&chain, parameters, &deployment).await?;
                    // The same keys and profiles, and the same draw: the same book on both markets.
                    let positions = market::open_positions(&chain, &twin, parameters, &accounts).await?;
                    let population = population::open(&chain, &twin, parameters, &spec, |_| {}).await?;
                    crate::say!(
                        "[devnet] chain {chain_id}: baseline market (open liquidation only): engine {} settlement {}",
                        twin.engine,
                        twin.settlement
                    );
                    Some(BaselineMarket { deployment: twin, positions, population })
                } else {
                    None
                };
                if !keepers_ref.is_empty() {
                    let mut books = vec![MarketBook::new(MarketKind::Backstop, &deployment, Vec::new())];
                    if let Some(baseline) = &baseline {
                        books.push(MarketBook::new(MarketKind::Baseline, &baseline.deployment, Vec::new()));
                    }
                    KeeperFleet::fund(
                        &chain,
                        keepers_ref,
                        deployment.usd,
                        alloy::primitives::U256::from(parameters.executor_float) + book_debt,
                        &books,
                    )
                    .await?;
                }
                let morpho = match morpho_chain {
                    Some(chain_id) if chain_id == chain.chain_id => {
                        let market = MorphoMarket::start(&chain, &deployment, MorphoParameters::default()).await?;
                        eprintln!("{}", market.describe(chain.chain_id));
                        Some(market)
                    }
                    _ => None,
                };
                chain.start_block_clock(Duration::from_secs(1)).await?;
                crate::say!(
                    "[devnet] chain {}: settlement {} engine {} ; {} accounts opened; 1 s blocks",
                    chain.chain_id,
                    deployment.settlement,
                    deployment.engine,
                    positions.len()
                );
                progress.inc(1);
                Ok::<_, DevnetError>(DevnetChain { chain, deployment, dex, positions, population, baseline, morpho })
            }
        }))
        .await?;

        let mut devnet = Devnet {
            keepers: None,
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
                keepers: Vec::new(),
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
            crate::say!("[devnet] waiting for {} node(s) to listen and watch...", devnet.nodes.len());
            for node in &mut devnet.nodes {
                progress.stage(&format!("waiting for {} to listen", node.setup.name));
                let ready = node.wait_ready(self.ready_timeout).await?.clone();
                progress.inc(1);
                crate::say!("[devnet]   {} ready: {} {}", node.setup.name, ready.peer_id, ready.listen_addrs.join(" "));
            }
            // Listening is not watching: wait until every node has indexed every chain
            // (its accounts included), as its /health says.
            crate::say!("[devnet] waiting for the nodes to index the chains...");
            for node in &devnet.nodes {
                let Some(api) = node.ready.as_ref().and_then(|ready| ready.api.clone()) else { continue };
                let url = format!("http://{api}/health");
                progress.stage(&format!("waiting for {} to index every chain", node.setup.name));
                wait_for(&format!("{} caught up (/health)", node.setup.name), self.ready_timeout, || async {
                    matches!(alloy::transports::http::reqwest::get(&url).await, Ok(response) if response.status().is_success())
                })
                .await?;
                progress.inc(1);
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
                setup.deploy_flash_liquidators(&devnet.chains).await?; // flash-swap solvers only
                setup.write(&bootstrap, &chains)?;
                let process = setup.start(&devnet_binary)?;
                devnet.solvers.push(SolverProcess { setup, process, ready: None });
            }
            crate::say!("[devnet] waiting for {} solver(s)...", devnet.solvers.len());
            for solver in &mut devnet.solvers {
                progress.stage(&format!("waiting for {}", solver.setup.name));
                solver.wait_ready(self.ready_timeout).await?;
                progress.inc(1);
                crate::say!(
                    "[devnet]   {} ready: executor {} ({} {} bps)",
                    solver.setup.name,
                    solver.setup.executor.address(),
                    solver.setup.strategy.name(),
                    solver.setup.strategy.bps()
                );
            }
        }

        if !keepers.is_empty() {
            let chains = devnet
                .chains
                .iter()
                .map(|chain| ChainKeepers {
                    chain_id: chain.chain.chain_id,
                    rpc_url: chain.chain.rpc_url.clone(),
                    provider: chain.chain.provider.clone(),
                    books: chain.books(),
                    collaterals: chain.deployment.collaterals.iter().map(|collateral| collateral.token).collect(),
                    ether_index: chain.deployment.collaterals.iter().position(|collateral| collateral.symbol == "WETH"),
                    pools: chain
                        .deployment
                        .collaterals
                        .iter()
                        .map(|collateral| {
                            chain.dex.pool(collateral.token).map(|pool| PoolRef {
                                pair: pool.pair,
                                // Uniswap V2 sorts a pair's tokens by address.
                                collateral_is_token0: collateral.token < chain.deployment.usd,
                            })
                        })
                        .collect(),
                    exit: dex_exit(),
                })
                .collect();
            devnet.keepers = Some(KeeperFleet::start(keepers, chains)?);
            crate::say!(
                "[devnet] {} keeper bot(s) racing the open path on every chain",
                devnet.keepers.as_ref().map_or(0, |fleet| fleet.keepers.len())
            );
        }

        progress.finish_and_clear();
        devnet.manifest = devnet.build_manifest();
        let path = dir.join("manifest.json");
        let json =
            serde_json::to_string_pretty(&devnet.manifest).map_err(|error| DevnetError::Setup(error.to_string()))?;
        std::fs::write(&path, json).map_err(|source| DevnetError::Io { path: path.clone(), source })?;
        crate::say!("[devnet] manifest: {}", path.display());
        Ok(devnet)
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
