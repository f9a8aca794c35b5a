//! Command line: `backstop node run`, `backstop keys new`, `backstop market register`,
//! `backstop status`. Every flag of `node run` also reads a `BACKSTOP_*` variable, and
//! overrides the config file's value for this process.

use std::path::PathBuf;

use alloy::primitives::{Address, U256};
use clap::{Args, Parser, Subcommand};
use eyre::WrapErr;

use crate::config::NodeConfig;

#[derive(Debug, Parser)]
#[command(
    name = "backstop",
    version,
    about = "Backstop peer node: watches margin markets on EVM chains, runs sealed-bid liquidation auctions over gossip and signs awards as a committee member",
    after_help = "Start here: `backstop keys new --out keys/`, copy node/example.toml to node.toml, then `backstop node run --config node.toml`."
)]
pub struct Cli {
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, global = true, env = "BACKSTOP_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Manage keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// For a protocol's admin: register a market on a chain's settlement contract.
    Market {
        #[command(subcommand)]
        command: MarketCommand,
    },
    /// Print what a running node is doing (reads its API's /status).
    Status {
        /// The node's operator API (its `api_listen`; `api` in data_dir/ready.json).
        #[arg(long, env = "BACKSTOP_API", default_value = "http://127.0.0.1:9180")]
        api: String,
        /// Print the raw JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Run the node until interrupted (see node/example.toml for the config format).
    Run {
        /// Path to the node's TOML config.
        #[arg(long, env = "BACKSTOP_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
    },
}

/// Process settings that override the config file.
#[derive(Debug, Args, Default)]
pub struct Overrides {
    /// Directory for the node's database.
    #[arg(long, env = "BACKSTOP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// File with the ed25519 peer key (hex, or an encrypted keystore).
    #[arg(long, env = "BACKSTOP_PEER_KEY")]
    pub peer_key: Option<PathBuf>,
    /// File with the committee member's secp256k1 key (hex, or an encrypted keystore).
    #[arg(long, env = "BACKSTOP_ATTESTER_KEY")]
    pub attester_key: Option<PathBuf>,
    /// libp2p listen address (repeat for several; replaces the file's list).
    #[arg(long, env = "BACKSTOP_LISTEN", value_delimiter = ',')]
    pub listen: Vec<String>,
    /// Peer to dial (repeat for several; replaces the file's list).
    #[arg(long, env = "BACKSTOP_BOOTSTRAP", value_delimiter = ',')]
    pub bootstrap: Vec<String>,
    /// Operator API address (`off` disables it).
    #[arg(long, env = "BACKSTOP_API_LISTEN")]
    pub api_listen: Option<String>,
}

impl Overrides {
    pub fn apply(self, config: &mut NodeConfig) {
        if let Some(dir) = self.data_dir {
            config.data_dir = dir;
        }
        if let Some(key) = self.peer_key {
            config.peer_key = key;
        }
        if let Some(key) = self.attester_key {
            config.attester_key = Some(key);
        }
        if !self.listen.is_empty() {
            config.listen = self.listen;
        }
        if !self.bootstrap.is_empty() {
            config.bootstrap = self.bootstrap;
        }
        if let Some(api) = self.api_listen {
            config.api_listen = (api != "off").then_some(api);
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a peer key (ed25519) and an attester key (secp256k1), mode 0600.
    New {
        /// Directory to write peer.key and attester.key into.
        #[arg(long)]
        out: PathBuf,
        /// Write encrypted keystores (peer.json, attester.json) with the password in
        /// BACKSTOP_KEYSTORE_PASSWORD (or the file in BACKSTOP_KEYSTORE_PASSWORD_FILE).
        #[arg(long)]
        encrypt: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MarketCommand {
    /// Register an adapter (an IMarginMarket) so Backstop auctions its liquidations.
    /// Prints the market id nodes list in `watch_markets`.
    Register {
        /// The chain's JSON-RPC endpoint.
        #[arg(long, env = "BACKSTOP_RPC_URL")]
        rpc_url: String,
        /// The chain's LiquidationSettlement contract.
        #[arg(long)]
        settlement: Address,
        /// The market's IMarginMarket adapter.
        #[arg(long)]
        adapter: Address,
        /// Who receives the auction premiums (e.g. the protocol's insurance fund).
        #[arg(long)]
        beneficiary: Address,
        /// Smallest premium the market accepts, in the debt asset's smallest units.
        #[arg(long, default_value = "0")]
        reserve_premium: U256,
        /// File with the adapter admin's secp256k1 key (hex, or an encrypted keystore).
        #[arg(long, env = "BACKSTOP_ADMIN_KEY")]
        admin_key: PathBuf,
    },
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().with_current_span(true).with_span_list(false).init();
    } else {
        builder.init();
    }
}

/// Entry point of the `backstop` binary.
pub fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    let runtime = || tokio::runtime::Runtime::new().wrap_err("cannot start the tokio runtime");
    match cli.command {
        Command::Keys { command: KeysCommand::New { out, encrypt } } => new_keys(&out, encrypt),
        Command::Node { command: NodeCommand::Run { config, overrides } } => {
            let mut config = NodeConfig::load(&config)?;
            overrides.apply(&mut config);
            runtime()?.block_on(async move {
                let node = crate::start(config).await?;
                tokio::select! {
                    result = node.task => result.wrap_err("node task failed"),
                    _ = shutdown_signal() => {
                        tracing::info!("shutting down");
                        Ok(())
                    }
                }
            })
        }
        Command::Market {
            command: MarketCommand::Register { rpc_url, settlement, adapter, beneficiary, reserve_premium, admin_key },
        } => runtime()?.block_on(register_market(
            &rpc_url,
            settlement,
            adapter,
            beneficiary,
            reserve_premium,
            &admin_key,
        )),
        Command::Status { api, json } => runtime()?.block_on(print_status(&api, json)),
    }
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match terminate.as_mut() { Some(signal) => { signal.recv().await; } None => std::future::pending().await } } => {}
    }
}

fn new_keys(out: &std::path::Path, encrypt: bool) -> eyre::Result<()> {
    use rand::RngCore;
    std::fs::create_dir_all(out)?;
    let mut peer = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut peer);
    let attester = alloy::signers::local::PrivateKeySigner::random();
    let (peer_path, attester_path) = if encrypt {
        let password = crate::keys::keystore_password()?.ok_or_else(|| {
            eyre::eyre!("--encrypt needs a password: set BACKSTOP_KEYSTORE_PASSWORD or BACKSTOP_KEYSTORE_PASSWORD_FILE")
        })?;
        let (peer_path, attester_path) = (out.join("peer.json"), out.join("attester.json"));
        crate::keys::write_keystore(&peer_path, &peer, &password)?;
        crate::keys::write_keystore(&attester_path, &attester.to_bytes().0, &password)?;
        (peer_path, attester_path)
    } else {
        let (peer_path, attester_path) = (out.join("peer.key"), out.join("attester.key"));
        crate::keys::write_secret(&peer_path, &peer)?;
        crate::keys::write_secret(&attester_path, &attester.to_bytes().0)?;
        (peer_path, attester_path)
    };
    let peer_key = ed25519_dalek::SigningKey::from_bytes(&peer);
    println!(
        "peer key      {}  (ed25519 public {})",
        peer_path.display(),
        hex::encode(peer_key.verifying_key().as_bytes())
    );
    println!("attester key  {}  (address {})", attester_path.display(), attester.address());
    println!("register the attester address on each chain's settlement contract to join its committee");
    Ok(())
}

async fn register_market(
    rpc_url: &str,
    settlement: Address,
    adapter: Address,
    beneficiary: Address,
    reserve_premium: U256,
    admin_key: &std::path::Path,
) -> eyre::Result<()> {
    use alloy::providers::{Provider, ProviderBuilder};
    use backstop_bindings::{IMarginMarket, LiquidationSettlement};

    let signer = crate::keys::load_attester_key(admin_key)?;
    let caller = signer.address();
    let url = rpc_url.parse().wrap_err_with(|| format!("invalid --rpc-url {rpc_url}"))?;
    let provider = ProviderBuilder::new().wallet(alloy::network::EthereumWallet::from(signer)).connect_http(url);
    for (what, address) in [("settlement", settlement), ("adapter", adapter)] {
        let code = provider.get_code_at(address).await.wrap_err_with(|| format!("cannot reach {rpc_url}"))?;
        eyre::ensure!(!code.is_empty(), "no contract at the {what} address {address} on this chain: check --{what}");
    }
    let market = IMarginMarket::new(adapter, &provider);
    let admin = market.admin().call().await.wrap_err("the adapter does not answer admin(): is it an IMarginMarket?")?;
    eyre::ensure!(
        admin == caller,
        "{caller} (from --admin-key) is not the adapter's admin ({admin}): only the market's admin may register it"
    );
    let market_id = backstop_protocol::id::market_id(adapter);
    let settlement = LiquidationSettlement::new(settlement, &provider);
    let registered = settlement.markets(market_id).call().await.wrap_err("cannot read the settlement's markets")?;
    eyre::ensure!(registered.adapter.is_zero(), "market {market_id} is already registered on this settlement");
    let call = settlement.registerMarket(adapter, beneficiary, reserve_premium);
    // Simulate first, so a refusal is explained rather than paid for.
    if let Err(error) = call.call().await {
        let reason = error
            .as_decoded_interface_error::<LiquidationSettlement::LiquidationSettlementErrors>()
            .map(|decoded| format!("{decoded:?}"))
            .unwrap_or_else(|| error.to_string());
        eyre::bail!("the settlement refuses the registration: {reason}");
    }
    let receipt = call.send().await?.get_receipt().await.wrap_err("registration transaction failed")?;
    eyre::ensure!(receipt.status(), "registration transaction {} reverted", receipt.transaction_hash);
    println!("registered market {market_id}");
    println!("  adapter      {adapter}");
    println!("  beneficiary  {beneficiary}");
    println!("  reserve      {reserve_premium}");
    println!("  transaction  {}", receipt.transaction_hash);
    println!("nodes watch it with: watch_markets = [\"{market_id}\"]");
    Ok(())
}

async fn print_status(api: &str, json: bool) -> eyre::Result<()> {
    use alloy::transports::http::reqwest;
    let url = format!("{}/status", api.trim_end_matches('/'));
    let response = reqwest::get(&url).await.wrap_err_with(|| {
        format!("cannot reach the node API at {api}: is the node running, and is --api its api_listen?")
    })?;
    let text = response.text().await?;
    if json {
        println!("{text}");
        return Ok(());
    }
    let status: crate::status::NodeStatus =
        serde_json::from_str(&text).wrap_err_with(|| format!("{url} did not answer a node status"))?;
    print!("{}", render_status(&status));
    Ok(())
}

/// The human summary `backstop status` prints.
pub fn render_status(status: &crate::status::NodeStatus) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "peer {}  ({} peers connected)", status.peer_id, status.peers);
    if let Some(member) = status.committee_member {
        let _ = writeln!(out, "committee member {member}");
    }
    let _ = writeln!(out, "\n{:>10} {:>10} {:>10} {:>5}  {:<9} last error", "chain", "head", "indexed", "lag", "state");
    for chain in status.chains.values() {
        let show = |value: Option<u64>| value.map_or("-".to_string(), |value| value.to_string());
        let state = if chain.caught_up { "ready" } else { "catching" };
        let _ = writeln!(
            out,
            "{:>10} {:>10} {:>10} {:>5}  {:<9} {}",
            chain.chain_id,
            show(chain.head),
            show(chain.indexed),
            show(chain.lag),
            state,
            chain.last_error.as_deref().unwrap_or("")
        );
        for market in &chain.markets {
            let _ = writeln!(
                out,
                "{:>10} market {} ({}): {} accounts, {} at risk, {} liquidatable, scan {:.2} ms{}",
                "",
                market.market_id,
                market.model,
                market.accounts,
                market.at_risk,
                market.liquidatable,
                market.last_scan_ms,
                if market.quarantined { ", QUARANTINED" } else { "" }
            );
        }
    }
    let _ = writeln!(out, "\nopen auctions: {}", status.open_auctions.len());
    for auction in status.open_auctions.iter().take(20) {
        let _ = writeln!(
            out,
            "  chain {} {} account {} commits {} reveals {}{}",
            auction.chain_id,
            auction.intent_id,
            auction.account,
            auction.commits,
            auction.reveals,
            if auction.decided { " decided" } else { "" }
        );
    }
    let _ = writeln!(out, "recent outcomes: {}", status.recent_outcomes.len());
    for outcome in status.recent_outcomes.iter().rev().take(10) {
        let _ = writeln!(out, "  chain {} {} {}", outcome.chain_id, outcome.intent_id, outcome.outcome);
    }
    out
}
