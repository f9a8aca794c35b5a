//! `backstop-devnet`: start a local multi-chain Backstop network and run the crash
//! scenario (`up`), or run one solver process (`solver`, used by `up`).

use std::path::PathBuf;
use std::time::Duration;

use backstop_devnet::Devnet;
use clap::{Parser, Subcommand};
use eyre::WrapErr;

/// Feeds go stale for the OracleRouter after an hour; a kept-running devnet republishes well before.
const FEED_REFRESH: Duration = Duration::from_secs(600);

/// How long `up` waits for follow-up rounds before reporting.
const FOLLOW_UP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser)]
#[command(
    name = "backstop-devnet",
    about = "Backstop on one machine: anvil chains, nodes, solvers, a crash and a report"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start chains, contracts, accounts, nodes and solvers; crash the collateral prices; report.
    Up {
        /// Anvil chains to start (chain ids 31337, 31338, ...), each with its own contracts.
        #[arg(long, default_value_t = 2)]
        chains: usize,
        /// Node processes; every node is a committee member on every chain.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Committee signatures an award needs on chain.
        #[arg(long, default_value_t = 2)]
        threshold: usize,
        /// Margin bots (the default solvers): the margin each keeps, in basis points of the
        /// liquidation bonus, comma separated; each bids the bonus minus gas and its margin.
        #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "200,500")]
        margin_solvers: Vec<u32>,
        /// Flash-swap bots (issue #15; default one at 300): the share of the DEX surplus each
        /// keeps, in basis points; each settles through its own FlashLiquidator with a Uniswap
        /// V2 flash swap and needs no debt inventory.
        #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "300", conflicts_with = "solvers")]
        flash_solvers: Vec<u32>,
        /// Fixed-premium solvers instead: the premium of each in basis points of the repay.
        #[arg(long, value_delimiter = ',', num_args = 0.., conflicts_with = "margin_solvers")]
        solvers: Option<Vec<u32>>,
        /// Wait this long after everything is up before the crash (time to start your own
        /// bot against `manifest.json`, e.g. `cargo run -p backstop-solver-sdk --example margin_bot`).
        #[arg(long, default_value = "0", value_name = "SECONDS")]
        crash_after: u64,
        /// Keys, configs, logs, manifest.json and report.json go here (emptied first).
        #[arg(long, default_value = "devnet-data", env = "BACKSTOP_DEVNET_DIR")]
        dir: PathBuf,
        /// Size of the price drop of every collateral, in basis points.
        #[arg(long, default_value_t = 2_500)]
        drop_bps: u32,
        /// Steps the drop is applied in (each one a volatility observation in the router).
        #[arg(long, default_value_t = backstop_devnet::scenario::DEFAULT_CRASH_STEPS)]
        steps: u32,
        /// Time between steps.
        #[arg(long, default_value_t = backstop_devnet::scenario::DEFAULT_STEP_INTERVAL.as_millis() as u64, value_name = "MS")]
        step_ms: u64,
        /// How long to wait for every account under maintenance to be settled.
        #[arg(long, default_value = "120", value_name = "SECONDS")]
        settle_timeout: u64,
        /// Skip the crash scenario: just bring the network up.
        #[arg(long)]
        no_scenario: bool,
        /// Keep everything running after the report until Ctrl-C.
        #[arg(long)]
        keep_running: bool,
        /// Extra accounts per chain, opened in bulk with seeded random leverage (up to
        /// tens of thousands: the node's risk engine at market scale).
        #[arg(long, default_value_t = 0)]
        accounts: usize,
        /// Seed of the accounts' draw.
        #[arg(long, default_value_t = 1)]
        seed: u64,
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
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Up {
            chains,
            nodes,
            threshold,
            margin_solvers,
            flash_solvers,
            solvers,
            crash_after,
            dir,
            drop_bps,
            steps,
            step_ms,
            settle_timeout,
            no_scenario,
            keep_running,
            accounts,
            seed,
        } => {
            let builder = Devnet::builder()
                .chains(chains)
                .nodes(nodes)
                .threshold(threshold)
                .population(accounts)
                .seed(seed)
                .ready_timeout(Duration::from_secs(120));
            let builder = match &solvers {
                Some(premium_bps) => builder.solvers(premium_bps),
                None => builder.margin_solvers(&margin_solvers).flash_solvers(&flash_solvers),
            };
            let devnet = builder.dir(&dir).start().await.wrap_err("devnet failed to start")?;
            if crash_after > 0 && !no_scenario {
                eprintln!(
                    "[devnet] crashing in {crash_after}s; start your bot now against {}",
                    devnet.dir().join("manifest.json").display()
                );
                tokio::time::sleep(Duration::from_secs(crash_after)).await;
            }
            let result = if no_scenario {
                Ok(())
            } else {
                run_crash(&devnet, drop_bps, steps, Duration::from_millis(step_ms), Duration::from_secs(settle_timeout))
                    .await
            };
            if keep_running || no_scenario {
                eprintln!(
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
                                eprintln!("[devnet] could not refresh the price feeds: {error}");
                            }
                        }
                    }
                }
            }
            eprintln!("[devnet] shutting down");
            devnet.shutdown();
            result
        }
        Command::Solver { config } => {
            backstop_devnet::solver::run(&config).await.wrap_err_with(|| format!("solver {}", config.display()))
        }
    }
}

async fn run_crash(
    devnet: &Devnet,
    drop_bps: u32,
    steps: u32,
    step_interval: Duration,
    timeout: Duration,
) -> eyre::Result<()> {
    let crash = devnet.crash_in_steps(drop_bps, steps, step_interval).await?;
    let settled = devnet.await_settlement(&crash, timeout).await;
    let result = async {
        let observed = settled?;
        // Accounts still under after one close-factor liquidation get further rounds.
        devnet.await_healthy(&crash, FOLLOW_UP_TIMEOUT).await?;
        let report = devnet.report(&crash, &observed).await?;
        println!("{}", report.render());
        let path = devnet.dir().join("report.json");
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .wrap_err_with(|| format!("writing {}", path.display()))?;
        eprintln!("[devnet] report written to {}", path.display());
        Ok::<_, eyre::Report>(())
    }
    .await;
    // What the nodes measured is worth printing even when the scenario failed.
    if devnet.chains().iter().any(|chain| !chain.population.is_empty()) {
        // The population's auctions run on after the profiled accounts settled.
        tokio::time::sleep(Duration::from_secs(8)).await;
    }
    match devnet.node_figures().await {
        Ok(figures) => println!("{}", figures.render()),
        Err(error) => eprintln!("[devnet] could not read the nodes' figures: {error}"),
    }
    result
}
