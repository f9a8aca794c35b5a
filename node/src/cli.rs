//! Command line: `backstop node run`, `backstop keys new`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use eyre::WrapErr;

use crate::config::NodeConfig;

#[derive(Debug, Parser)]
#[command(
    name = "backstop",
    version,
    about = "Backstop peer node: watches margin markets on EVM chains, runs sealed-bid liquidation auctions over gossip and signs awards as a committee member"
)]
pub struct Cli {
    /// Log format.
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
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Run the node until interrupted (see node/example.toml for the config format).
    Run {
        /// Path to the node's TOML config.
        #[arg(long, env = "BACKSTOP_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a peer key (ed25519) and an attester key (secp256k1), mode 0600.
    New {
        /// Directory to write peer.key and attester.key into.
        #[arg(long)]
        out: PathBuf,
    },
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Entry point of the `backstop` binary.
pub fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match cli.command {
        Command::Keys { command: KeysCommand::New { out } } => new_keys(&out),
        Command::Node { command: NodeCommand::Run { config } } => {
            let config = NodeConfig::load(&config)?;
            let runtime = tokio::runtime::Runtime::new().wrap_err("cannot start the tokio runtime")?;
            runtime.block_on(async move {
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
    }
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match terminate.as_mut() { Some(signal) => { signal.recv().await; } None => std::future::pending().await } } => {}
    }
}

fn new_keys(out: &std::path::Path) -> eyre::Result<()> {
    use rand::RngCore;
    std::fs::create_dir_all(out)?;
    let mut peer = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut peer);
    crate::keys::write_secret(&out.join("peer.key"), &peer)?;
    let attester = alloy::signers::local::PrivateKeySigner::random();
    crate::keys::write_secret(&out.join("attester.key"), &attester.to_bytes().0)?;
    let peer_key = ed25519_dalek::SigningKey::from_bytes(&peer);
    println!(
        "peer key      {}  (ed25519 public {})",
        out.join("peer.key").display(),
        hex::encode(peer_key.verifying_key().as_bytes())
    );
    println!("attester key  {}  (address {})", out.join("attester.key").display(), attester.address());
    println!("register the attester address on each chain's settlement contract to join its committee");
    Ok(())
}
