//! A flash-swap bot: it values the collateral a liquidation seizes at the DEX's executable
//! price (the chain's Uniswap V2 pools, fee and slippage included), bids what remains after
//! the repay, gas and its margin, and skips intents it cannot profit from. It needs no
//! inventory of the debt asset: its executor is a `FlashLiquidator` contract that
//! flash-swaps the repay and premium out of a pool, settles, sells the collateral and sends
//! the profit, in the debt asset, to the bot's wallet. The strategy is
//! [`backstop_solver_sdk::strategies::FlashSwap`].
//!
//! Against a running devnet (`cargo run -p backstop-devnet -- up --crash-after 60`), from
//! the workspace root; the bot deploys its `FlashLiquidator` on every chain (on the
//! manifest's settlement and Uniswap V2 factory) and `--devnet-fund` gives its wallet gas:
//!
//! ```text
//! cargo run -p backstop-solver-sdk --example flash_swap_bot -- \
//!     --manifest devnet-data/manifest.json --devnet-fund --margin-bps 300
//! ```
//!
//! With a liquidator already deployed (`--flash-liquidator 0x...`, one chain), or against
//! any chain with a Uniswap V2 factory (`--factory 0x...`: the bot deploys one).

use std::path::PathBuf;
use std::str::FromStr;

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use backstop_solver_sdk::strategies::FlashSwap;
use backstop_solver_sdk::{
    deploy_flash_liquidator, Address, AuctionOutcome, ChainEndpoint, Multiaddr, SolverClient, SolverConfig,
};
use clap::Parser;
use eyre::{eyre, WrapErr};
use rand::RngCore;
use tokio::sync::broadcast::error::RecvError;

/// Gas money `--devnet-fund` gives the wallet (devnet only).
const DEVNET_GAS_WEI: u128 = 100_000_000_000_000_000_000; // 100 ETH

#[derive(Debug, Parser)]
#[command(about = "Backstop solver financing each settle with a Uniswap V2 flash swap")]
struct Args {
    /// A devnet's manifest.json: every chain, settlement, registry, DEX factory and node in it.
    #[arg(long, conflicts_with_all = ["rpc_url", "settlement"])]
    manifest: Option<PathBuf>,
    /// Devnet only: give the wallet gas money (`anvil_setBalance`) on every chain.
    #[arg(long, requires = "manifest")]
    devnet_fund: bool,
    /// HTTP JSON-RPC endpoint of the chain (without --manifest).
    #[arg(long, env = "BACKSTOP_RPC_URL", requires_all = ["chain_id", "settlement"])]
    rpc_url: Option<String>,
    #[arg(long, env = "BACKSTOP_CHAIN_ID")]
    chain_id: Option<u64>,
    /// The chain's LiquidationSettlement contract.
    #[arg(long, env = "BACKSTOP_SETTLEMENT")]
    settlement: Option<Address>,
    /// The chain's SolverRegistry; the liquidator bonds our key there at start.
    #[arg(long)]
    solver_registry: Option<Address>,
    /// A collateral priced like the chain's gas coin (WETH), to express gas in debt units.
    #[arg(long)]
    native_price_asset: Option<Address>,
    /// The chain's Uniswap V2 factory: the bot deploys its FlashLiquidator on it.
    #[arg(long, conflicts_with = "flash_liquidator")]
    factory: Option<Address>,
    /// A FlashLiquidator the wallet already owns (no deployment).
    #[arg(long)]
    flash_liquidator: Option<Address>,
    /// Hex secp256k1 secret of the wallet (owns the liquidator, pays gas, receives profit);
    /// a fresh one if absent (fine with --devnet-fund).
    #[arg(long, env = "BACKSTOP_EXECUTOR_KEY", hide_env_values = true)]
    executor_key: Option<String>,
    /// Hex ed25519 secret of the peer identity; a random one if absent.
    #[arg(long, env = "BACKSTOP_PEER_KEY", hide_env_values = true)]
    peer_key: Option<String>,
    /// Node address to dial; repeat for several (the manifest's nodes are added).
    #[arg(long = "bootstrap")]
    bootstrap: Vec<Multiaddr>,
    #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
    listen: Multiaddr,
    /// Share of the DEX surplus (executable value − repay) the bot keeps, in basis points.
    #[arg(long, default_value_t = 300)]
    margin_bps: u32,
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

fn field<T: FromStr>(value: &serde_json::Value, pointer: &str) -> eyre::Result<T>
where
    T::Err: std::fmt::Display,
{
    let text =
        value.pointer(pointer).and_then(|value| value.as_str()).ok_or_else(|| eyre!("manifest has no {pointer}"))?;
    text.parse().map_err(|error| eyre!("manifest {pointer} = {text:?}: {error}"))
}

/// One chain to serve and the factory to deploy a liquidator on (none: already deployed).
type Planned = (ChainEndpoint, Option<Address>);

fn read_manifest(path: &PathBuf, wallet: &PrivateKeySigner) -> eyre::Result<(Vec<Planned>, Vec<Multiaddr>)> {
    let text = std::fs::read_to_string(path).wrap_err_with(|| {
        format!("reading {} (is the devnet up? `cargo run -p backstop-devnet -- up`)", path.display())
    })?;
    let manifest: serde_json::Value = serde_json::from_str(&text).wrap_err("manifest.json is not JSON")?;
    let mut chains = Vec::new();
    for chain in manifest["chains"].as_array().ok_or_else(|| eyre!("manifest has no chains"))? {
        let weth = chain["deployment"]["collaterals"]
            .as_array()
            .and_then(|collaterals| collaterals.iter().find(|collateral| collateral["symbol"] == "WETH"))
            .map(|collateral| field::<Address>(collateral, "/token"))
            .transpose()?;
        let endpoint = ChainEndpoint {
            chain_id: chain["chain_id"].as_u64().ok_or_else(|| eyre!("manifest chain without chain_id"))?,
            rpc_url: field(chain, "/rpc_url")?,
            settlement: field(chain, "/deployment/settlement")?,
            executor: wallet.clone(),
            solver_registry: Some(field(chain, "/deployment/solver_registry")?),
            native_price_asset: weth,
            flash_liquidator: None,
        };
        chains.push((endpoint, Some(field(chain, "/dex/factory")?)));
    }
    let mut bootstrap = Vec::new();
    for node in manifest["nodes"].as_array().into_iter().flatten() {
        for address in node["listen_addrs"].as_array().into_iter().flatten() {
            if let Some(address) = address.as_str() {
                bootstrap.push(address.parse().wrap_err_with(|| format!("manifest node address {address}"))?);
            }
        }
    }
    Ok((chains, bootstrap))
}

/// Funds the wallet on a devnet (optional) and deploys its liquidator when asked.
async fn prepare(endpoint: &mut ChainEndpoint, factory: Option<Address>, devnet_fund: bool) -> eyre::Result<()> {
    let provider = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(endpoint.executor.clone()))
        .connect_http(endpoint.rpc_url.parse()?);
    let wallet = endpoint.executor.address();
    if devnet_fund {
        provider
            .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (wallet, U256::from(DEVNET_GAS_WEI)))
            .await
            .wrap_err("anvil_setBalance (is this a devnet chain?)")?;
    }
    if let Some(factory) = factory {
        let liquidator = deploy_flash_liquidator(&provider, wallet, endpoint.settlement, factory)
            .await
            .wrap_err("deploying the FlashLiquidator (does the wallet hold gas?)")?;
        tracing::info!(chain_id = endpoint.chain_id, %liquidator, %factory, "deployed our FlashLiquidator");
        endpoint.flash_liquidator = Some(liquidator);
    }
    Ok(())
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
    if args.margin_bps > 10_000 {
        return Err(eyre!("--margin-bps {} is above 10000 (the whole surplus)", args.margin_bps));
    }
    let wallet = match &args.executor_key {
        Some(key) => PrivateKeySigner::from_str(key.trim())
            .map_err(|error| eyre!("--executor-key is not a secp256k1 secret in hex: {error}"))?,
        None => PrivateKeySigner::random(),
    };
    let mut bootstrap = args.bootstrap.clone();
    let planned = match &args.manifest {
        Some(path) => {
            let (chains, nodes) = read_manifest(path, &wallet)?;
            bootstrap.extend(nodes);
            chains
        }
        None => {
            if args.factory.is_none() && args.flash_liquidator.is_none() {
                return Err(eyre!("name the chain's Uniswap V2 --factory or an existing --flash-liquidator"));
            }
            let endpoint = ChainEndpoint {
                chain_id: args.chain_id.ok_or_else(|| eyre!("--chain-id is required without --manifest"))?,
                rpc_url: args.rpc_url.clone().ok_or_else(|| eyre!("--rpc-url (or --manifest) is required"))?,
                settlement: args.settlement.ok_or_else(|| eyre!("--settlement is required without --manifest"))?,
                executor: wallet.clone(),
                solver_registry: args.solver_registry,
                native_price_asset: args.native_price_asset,
                flash_liquidator: args.flash_liquidator,
            };
            vec![(endpoint, args.factory)]
        }
    };
    let mut chains = Vec::new();
    for (mut endpoint, factory) in planned {
        prepare(&mut endpoint, factory, args.devnet_fund).await?;
        chains.push(endpoint);
    }
    let strategy = FlashSwap { margin_bps: args.margin_bps, min_margin: U256::ZERO };
    let config = SolverConfig {
        peer_secret_key: parse_peer_key(args.peer_key.as_deref())?,
        listen: vec![args.listen.clone()],
        bootstrap,
        chains,
    };
    let solver = SolverClient::start(config, strategy).await?;
    tracing::info!(
        peer_id = %solver.peer_id(),
        wallet = %wallet.address(),
        margin_bps = args.margin_bps,
        "flash-swap bot running; ctrl-c to stop"
    );

    let mut outcomes = solver.outcomes();
    let mut tally = std::collections::BTreeMap::<&'static str, u64>::new();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            outcome = outcomes.recv() => match outcome {
                Ok(outcome) => {
                    *tally.entry(outcome.label()).or_default() += 1;
                    if let AuctionOutcome::Won { premium, collateral_received, gas_used, .. } = &outcome {
                        // Through the liquidator, what the wallet received: profit in the debt asset.
                        tracing::info!(%premium, ?collateral_received, gas_used, "won and settled with a flash swap");
                    }
                }
                Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "outcome log fell behind"),
                Err(RecvError::Closed) => break,
            },
        }
    }
    tracing::info!(?tally, "stopping");
    solver.shutdown().await;
    Ok(())
}
