//! A complete solver bot: bids the maximum repay with a fixed premium on one chain,
//! settles what it wins and logs every outcome.
//!
//! Against a devnet (addresses and keys from its manifest):
//!
//! ```text
//! BACKSTOP_EXECUTOR_KEY=0x... cargo run -p backstop-solver-sdk --example fixed_premium -- \
//!     --rpc-url http://127.0.0.1:8545 --chain-id 31337 --settlement 0x... \
//!     --bootstrap /ip4/127.0.0.1/tcp/9000 --premium-bps 50
//! ```
//!
//! The executor must hold the markets' debt asset: it pays repay + premium at settlement.

use std::str::FromStr;

use alloy::signers::local::PrivateKeySigner;
use backstop_solver_sdk::strategies::FixedPremium;
use backstop_solver_sdk::{Address, AuctionOutcome, ChainEndpoint, Multiaddr, SolverClient, SolverConfig};
use clap::Parser;
use eyre::{eyre, WrapErr};
use rand::RngCore;
use tokio::sync::broadcast::error::RecvError;

#[derive(Debug, Parser)]
#[command(about = "Backstop solver bidding a fixed premium on every liquidation intent")]
struct Args {
    /// HTTP JSON-RPC endpoint of the chain.
    #[arg(long, env = "BACKSTOP_RPC_URL")]
    rpc_url: String,
    #[arg(long, env = "BACKSTOP_CHAIN_ID")]
    chain_id: u64,
    /// The chain's LiquidationSettlement contract.
    #[arg(long, env = "BACKSTOP_SETTLEMENT")]
    settlement: Address,
    /// Hex secp256k1 secret of the executor wallet that settles awards.
    #[arg(long, env = "BACKSTOP_EXECUTOR_KEY", hide_env_values = true)]
    executor_key: String,
    /// The chain's SolverRegistry; the bot bonds its key there at start (nodes count
    /// only bonded solvers' bids).
    #[arg(long)]
    solver_registry: Option<Address>,
    /// Hex ed25519 secret of the peer identity; a random one if absent.
    #[arg(long, env = "BACKSTOP_PEER_KEY", hide_env_values = true)]
    peer_key: Option<String>,
    /// Node address to dial; repeat for several.
    #[arg(long = "bootstrap")]
    bootstrap: Vec<Multiaddr>,
    /// Address to listen on.
    #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
    listen: Multiaddr,
    /// Premium offered, in basis points of the repay.
    #[arg(long, default_value_t = 50)]
    premium_bps: u32,
}

fn parse_peer_key(hex_key: Option<&str>) -> eyre::Result<[u8; 32]> {
    let Some(hex_key) = hex_key else {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        return Ok(key);
    };
    let bytes = hex::decode(hex_key.trim().trim_start_matches("0x")).wrap_err("--peer-key is not hex")?;
    bytes.try_into().map_err(|bytes: Vec<u8>| eyre!("--peer-key must be 32 bytes, got {}", bytes.len()))
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,backstop_solver_sdk=info,libp2p=warn".into()),
        )
        .init();
    let args = Args::parse();
    if args.premium_bps > 10_000 {
        return Err(eyre!("--premium-bps {} is above 10000 (100% of the repay)", args.premium_bps));
    }
    let executor = PrivateKeySigner::from_str(args.executor_key.trim())
        .map_err(|error| eyre!("--executor-key is not a secp256k1 secret in hex: {error}"))?;
    let config = SolverConfig {
        peer_secret_key: parse_peer_key(args.peer_key.as_deref())?,
        listen: vec![args.listen],
        bootstrap: args.bootstrap,
        chains: vec![ChainEndpoint {
            chain_id: args.chain_id,
            rpc_url: args.rpc_url,
            settlement: args.settlement,
            executor,
            solver_registry: args.solver_registry,
            native_price_asset: None,
            flash_liquidator: None,
        }],
    };
    let executor_address = config.chains[0].executor.address();
    let solver = SolverClient::start(config, FixedPremium { bps: args.premium_bps }).await?;
    tracing::info!(
        peer_id = %solver.peer_id(),
        listen = ?solver.listen_addrs(),
        executor = %executor_address,
        premium_bps = args.premium_bps,
        "fixed-premium solver running; ctrl-c to stop"
    );

    let mut outcomes = solver.outcomes();
    let (mut won, mut lost, mut other) = (0u64, 0u64, 0u64);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            outcome = outcomes.recv() => match outcome {
                Ok(outcome) => {
                    match &outcome {
                        AuctionOutcome::Won { intent_id, tx_hash, repay_amount, premium, .. } => {
                            won += 1;
                            tracing::info!(%intent_id, %tx_hash, %repay_amount, %premium, "won and settled");
                        }
                        AuctionOutcome::Lost { intent_id, winning_premium, .. } => {
                            lost += 1;
                            tracing::info!(%intent_id, ?winning_premium, "lost");
                        }
                        other_outcome => {
                            other += 1;
                            tracing::info!(outcome = ?other_outcome, "auction ended");
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "outcome log fell behind"),
                Err(RecvError::Closed) => break,
            },
        }
    }
    tracing::info!(won, lost, other, "stopping");
    solver.shutdown().await;
    Ok(())
}
