//! `backstop-devnet`: Backstop on one machine. `up` starts the world (anvil chains with
//! the contracts, a DEX, a Backstop market and its baseline twin, a population of accounts,
//! committee nodes, solvers and keepers) and keeps it running; `scenario NAME` runs a
//! stress scenario end to end and writes its report; `solver` runs one solver process
//! (`up` starts those itself).

use std::path::{Path, PathBuf};
use std::time::Duration;

use backstop_devnet::keeper::default_keepers;
use backstop_devnet::prices::ScenarioKind;
use backstop_devnet::run::RunSettings;
use backstop_devnet::{AuctionWindows, Devnet, DevnetBuilder};
use clap::{Args, Parser, Subcommand};
use eyre::WrapErr;

/// Feeds go stale for the OracleRouter after an hour; a kept-running devnet republishes well before.
const FEED_REFRESH: Duration = Duration::from_secs(600);

#[derive(Parser)]
#[command(
    name = "backstop-devnet",
    about = "Backstop on one machine: anvil chains, contracts, nodes, solvers, keepers, stress scenarios and their reports",
    after_help = "Examples:\n  backstop-devnet scenario crash              # the main job: crash, Backstop against the baseline, report\n  backstop-devnet scenario --all --out runs    # every scenario, one report each\n  backstop-devnet up                           # bring the world up and keep it running (Ctrl-C stops it)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The world every command starts.
#[derive(Args, Clone)]
struct World {
    /// Anvil chains to start (chain ids 31337, 31338, ...), each with its own contracts.
    #[arg(long, default_value_t = 3)]
    chains: usize,
    /// Node processes; every node is a committee member on every chain.
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Committee signatures an award needs on chain.
    #[arg(long, default_value_t = 3)]
    threshold: usize,
    /// Margin bots (the default solvers): the margin each keeps, in basis points of the
    /// liquidation bonus, comma separated; each bids the bonus minus gas and its margin.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "200,500")]
    margin_solvers: Vec<u32>,
    /// Flash-swap bots: the share of the DEX surplus each keeps, in basis points; each
    /// settles through its own FlashLiquidator with a Uniswap V2 flash swap and needs no
    /// debt inventory.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "300", conflicts_with = "solvers")]
    flash_solvers: Vec<u32>,
    /// Fixed-premium solvers instead: the premium of each in basis points of the repay.
    #[arg(long, value_delimiter = ',', num_args = 0.., conflicts_with = "margin_solvers")]
    solvers: Option<Vec<u32>>,
    /// Accounts per market per chain beyond the six profiled ones, opened in bulk with
    /// seeded leverage, size and collateral mix (up to tens of thousands).
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// No baseline twin market: Backstop alone (the keepers still watch its fallback path).
    #[arg(long)]
    no_baseline: bool,
    /// No Morpho Blue market (by default the first chain runs one, protected by
    /// pre-liquidation auctions, with Morpho's own liquidation as the open path).
    #[arg(long)]
    no_morpho: bool,
    /// The auctions' commit window (the protocol allows 500 to 10000).
    #[arg(long, default_value_t = 800, value_name = "MS")]
    commit_ms: u64,
    /// The auctions' reveal window (the protocol allows 300 to 10000).
    #[arg(long, default_value_t = backstop_protocol::timing::DEFAULT_REVEAL_MS as u64, value_name = "MS")]
    reveal_ms: u64,
}

impl World {
    fn builder(&self, seed: u64) -> DevnetBuilder {
        let builder = Devnet::builder()
            .chains(self.chains)
            .nodes(self.nodes)
            .threshold(self.threshold)
            .population(self.accounts)
            .seed(seed)
            .baseline(!self.no_baseline)
            .morpho(!self.no_morpho)
            .keepers(default_keepers())
            .auction_windows(AuctionWindows {
                commit: Duration::from_millis(self.commit_ms),
                reveal: Duration::from_millis(self.reveal_ms),
                ..AuctionWindows::default()
            })
            .ready_timeout(Duration::from_secs(120));
        match &self.solvers {
            Some(premium_bps) => builder.solvers(premium_bps),
            None => builder.margin_solvers(&self.margin_solvers).flash_solvers(&self.flash_solvers),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Start the world and keep it running until Ctrl-C: endpoints and manifest.json are
    /// printed for your own bots (e.g. `cargo run -p backstop-solver-sdk --example margin_bot`).
    Up {
        #[command(flatten)]
        world: World,
        /// Run this scenario once everything is up (its report goes to DIR/report), then keep running.
        #[arg(long, value_enum)]
        scenario: Option<ScenarioKind>,
        /// Seed of the population and of the scenario.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Keys, configs, logs and manifest.json go here (emptied first).
        #[arg(long, default_value = "devnet-data", env = "BACKSTOP_DEVNET_DIR")]
        dir: PathBuf,
    },
    /// Run a stress scenario end to end on a fresh world and write its report (table, JSON,
    /// charts): Backstop's market against its baseline twin protected by keepers alone.
    Scenario {
        /// The scenario (see the list below).
        #[arg(value_enum, required_unless_present = "all")]
        name: Option<ScenarioKind>,
        /// Run every scenario, one after the other, each on a fresh world.
        #[arg(long, conflicts_with = "name")]
        all: bool,
        /// Seed of the population and of the price path: the same seed, the same run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the report goes (DIR/NAME/report.{txt,json}, charts DIR/NAME/*.png); the
        /// world's keys, configs and logs go to DIR/NAME/devnet.
        #[arg(long, default_value = "devnet-data/scenarios", env = "BACKSTOP_SCENARIO_DIR")]
        out: PathBuf,
        #[command(flatten)]
        world: World,
        /// How long to wait, after the last step, for the markets to settle down.
        #[arg(long, default_value = "90", value_name = "SECONDS")]
        settle_timeout: u64,
    },
    /// Run one solver (margin or fixed-premium strategy) from a solver.toml.
    Solver {
        #[arg(long, env = "BACKSTOP_SOLVER_CONFIG")]
        config: PathBuf,
    },
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            // alloy's block pollers (behind pending transactions) report the chains going
            // away at shutdown as errors; the devnet's own messages say what matters.
            "info,alloy_rpc_client::poller=off".into()
        }))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Up { world, scenario, seed, dir } => {
            let mut builder = world.builder(seed);
            if scenario == Some(ScenarioKind::SolverNoShow) {
                builder = builder.no_show_solvers(&[0]);
            }
            let devnet = builder.dir(&dir).start().await.wrap_err("devnet failed to start")?;
            print_endpoints(&devnet);
            let result = match scenario {
                Some(kind) => run_scenario(&devnet, kind, seed, &dir.join("report"), Duration::from_secs(90)).await,
                None => Ok(()),
            };
            if let Err(error) = &result {
                backstop_devnet::say!("[devnet] scenario failed: {error:#}");
            }
            keep_running(&devnet).await;
            backstop_devnet::say!("[devnet] shutting down");
            devnet.shutdown();
            result
        }
        Command::Scenario { name, all, seed, out, world, settle_timeout } => {
            let kinds: Vec<ScenarioKind> = if all { ScenarioKind::ALL.to_vec() } else { name.into_iter().collect() };
            let mut failed = Vec::new();
            for kind in &kinds {
                let dir = out.join(kind.name());
                let result = async {
                    let mut builder = world.builder(seed);
                    if *kind == ScenarioKind::SolverNoShow {
                        // The best bidder: the margin bot with the tightest margin.
                        builder = builder.no_show_solvers(&[0]);
                    }
                    let devnet = builder.dir(dir.join("devnet")).start().await.wrap_err("devnet failed to start")?;
                    let result = run_scenario(&devnet, *kind, seed, &dir, Duration::from_secs(settle_timeout)).await;
                    devnet.shutdown();
                    result
                }
                .await;
                if let Err(error) = result {
                    backstop_devnet::say!("[devnet] scenario {} failed: {error:#}", kind.name());
                    failed.push(kind.name());
                }
            }
            if !failed.is_empty() {
                eyre::bail!("scenario(s) failed: {}", failed.join(", "));
            }
            Ok(())
        }
        Command::Solver { config } => {
            backstop_devnet::solver::run(&config).await.wrap_err_with(|| format!("solver {}", config.display()))
        }
    }
}

fn print_endpoints(devnet: &Devnet) {
    for chain in devnet.chains() {
        backstop_devnet::say!(
            "[devnet] chain {}: rpc {} | settlement {} | engine {}{}",
            chain.chain.chain_id,
            chain.chain.rpc_url,
            chain.deployment.settlement,
            chain.deployment.engine,
            chain
                .baseline
                .as_ref()
                .map(|baseline| format!(" | baseline engine {}", baseline.deployment.engine))
                .unwrap_or_default()
        );
    }
    for node in devnet.nodes() {
        backstop_devnet::say!(
            "[devnet] {}: api {} | log {}",
            node.name(),
            node.api().unwrap_or("-"),
            node.log_path().display()
        );
    }
}

/// Runs `kind`, prints its report and writes it (report.txt, report.json, charts) to `out`.
async fn run_scenario(
    devnet: &Devnet,
    kind: ScenarioKind,
    seed: u64,
    out: &Path,
    settle_timeout: Duration,
) -> eyre::Result<()> {
    let mut settings = RunSettings::new(kind, seed);
    settings.settle_timeout = settle_timeout;
    let trace = devnet.run(&settings).await?;
    let scorecard = devnet.scorecard(&trace, &devnet.no_show_intents()).await?;
    let text = scorecard.render();
    println!("{text}");
    std::fs::create_dir_all(out).wrap_err_with(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("report.txt"), &text).wrap_err("writing report.txt")?;
    std::fs::write(out.join("report.json"), serde_json::to_string_pretty(&scorecard)?)
        .wrap_err("writing report.json")?;
    let charts =
        backstop_devnet::charts::draw(&scorecard, out).map_err(|error| eyre::eyre!("drawing the charts: {error}"))?;
    backstop_devnet::say!(
        "[devnet] report: {} and report.json; charts: {}",
        out.join("report.txt").display(),
        charts.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    match devnet.node_figures().await {
        Ok(figures) => println!("{}", figures.render()),
        Err(error) => backstop_devnet::say!("[devnet] could not read the nodes' figures: {error}"),
    }
    Ok(())
}

async fn keep_running(devnet: &Devnet) {
    backstop_devnet::say!(
        "[devnet] running; manifest at {}; Ctrl-C to stop",
        devnet.dir().join("manifest.json").display()
    );
    let mut refresh = tokio::time::interval(FEED_REFRESH);
    refresh.tick().await;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = refresh.tick() => {
                if let Err(error) = devnet.refresh_feeds().await {
                    backstop_devnet::say!("[devnet] could not refresh the price feeds: {error}");
                }
            }
        }
    }
}
