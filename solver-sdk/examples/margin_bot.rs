//! A margin bot: on every intent it bids the liquidation bonus the repay earns (what
//! `previewSeize` says it seizes, minus the repay), less the settle's gas cost and a
//! margin it keeps (a share of the bonus in basis points, or an absolute floor), and skips
//! the intent when nothing is left. Competing margin bots hand most of the bonus to the
//! protocol. The strategy is [`backstop_solver_sdk::strategies::Margin`].
//!
//! Against a running devnet (`cargo run -p backstop-devnet -- up --crash-after 60`), from
//! the workspace root, with a fresh executor funded by the devnet's open test tokens:
//!
//! ```text
//! cargo run -p backstop-solver-sdk --example margin_bot -- \
//!     --manifest devnet-data/manifest.json --devnet-fund --margin-bps 300
//! ```
//!
//! Against any chain, name it yourself (repeatable per chain is not needed for one chain):
//!
//! ```text
//! BACKSTOP_EXECUTOR_KEY=0x... cargo run -p backstop-solver-sdk --example margin_bot -- \
//!     --rpc-url http://127.0.0.1:8545 --chain-id 31337 --settlement 0x... \
//!     --solver-registry 0x... --native-price-asset 0x<WETH> \
//!     --bootstrap /ip4/127.0.0.1/tcp/9000 --margin-bps 300
//! ```

use std::path::PathBuf;
use std::str::FromStr;

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use backstop_solver_sdk::strategies::Margin;
use backstop_solver_sdk::{Address, AuctionOutcome, ChainEndpoint, Multiaddr, SolverClient, SolverConfig};
use clap::Parser;
use eyre::{eyre, WrapErr};
use rand::RngCore;
use tokio::sync::broadcast::error::RecvError;

alloy::sol! {
    #[sol(rpc)]
    interface IDevnetToken {
        function mint(address to, uint256 amount) external;
    }
}

/// Debt asset and gas money `--devnet-fund` gives the executor (devnet test tokens only).
const DEVNET_FLOAT_WHOLE: u64 = 1_000_000;
const DEVNET_GAS_WEI: u128 = 100_000_000_000_000_000_000; // 100 ETH

#[derive(Debug, Parser)]
#[command(about = "Backstop solver bidding the liquidation bonus minus gas and a margin")]
struct Args {
    /// A devnet's manifest.json: every chain, settlement, registry and node address in it.
    #[arg(long, conflicts_with_all = ["rpc_url", "settlement"])]
    manifest: Option<PathBuf>,
    /// Devnet only: give the executor gas money (`anvil_setBalance`) and debt asset (the
    /// devnet's test token mints to anyone) on every chain before starting.
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
    /// The chain's SolverRegistry; the bot bonds its key there at start.
    #[arg(long)]
    solver_registry: Option<Address>,
    /// A collateral priced like the chain's gas coin (WETH), to express gas in debt units.
    #[arg(long)]
    native_price_asset: Option<Address>,
    /// Hex secp256k1 secret of the executor wallet; a fresh one if absent (fine with
    /// --devnet-fund, useless elsewhere: it would hold nothing).
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
    /// Share of the bonus value the bot keeps, in basis points.
    #[arg(long, default_value_t = 300)]
    margin_bps: u32,
    /// Smallest margin kept, in whole debt tokens (e.g. 1 = one USD on the devnet).
    #[arg(long, default_value_t = 0)]
    min_margin: u64,
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

/// What the bot needs of one devnet chain, from `manifest.json`.
struct DevnetChain {
    endpoint: ChainEndpoint,
    debt_asset: Address,
}

fn field<T: FromStr>(value: &serde_json::Value, pointer: &str) -> eyre::Result<T>
where
    T::Err: std::fmt::Display,
{
    let text =
        value.pointer(pointer).and_then(|value| value.as_str()).ok_or_else(|| eyre!("manifest has no {pointer}"))?;
    text.parse().map_err(|error| eyre!("manifest {pointer} = {text:?}: {error}"))
}

fn read_manifest(path: &PathBuf, executor: &PrivateKeySigner) -> eyre::Result<(Vec<DevnetChain>, Vec<Multiaddr>)> {
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
        chains.push(DevnetChain {
            endpoint: ChainEndpoint {
                chain_id: chain["chain_id"].as_u64().ok_or_else(|| eyre!("manifest chain without chain_id"))?,
                rpc_url: field(chain, "/rpc_url")?,
                settlement: field(chain, "/deployment/settlement")?,
                executor: executor.clone(),
                solver_registry: Some(field(chain, "/deployment/solver_registry")?),
                native_price_asset: weth,
                flash_liquidator: None,
            },
            debt_asset: field(chain, "/deployment/usd")?,
        });
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

/// Devnet only: gas money and debt asset for the executor.
async fn devnet_fund(chain: &DevnetChain) -> eyre::Result<()> {
    let endpoint = &chain.endpoint;
    let provider = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(endpoint.executor.clone()))
        .connect_http(endpoint.rpc_url.parse()?);
    let executor = endpoint.executor.address();
    provider
        .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (executor, U256::from(DEVNET_GAS_WEI)))
        .await
        .wrap_err("anvil_setBalance (is this a devnet chain?)")?;
    let amount = U256::from(DEVNET_FLOAT_WHOLE) * U256::from(10u64).pow(U256::from(18));
    let receipt =
        IDevnetToken::new(chain.debt_asset, &provider).mint(executor, amount).send().await?.get_receipt().await?;
    eyre::ensure!(receipt.status(), "minting the devnet debt asset reverted");
    tracing::info!(chain_id = endpoint.chain_id, %executor, "funded the executor with gas and {DEVNET_FLOAT_WHOLE} USD");
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
        return Err(eyre!("--margin-bps {} is above 10000 (the whole bonus)", args.margin_bps));
    }
    let executor = match &args.executor_key {
        Some(key) => PrivateKeySigner::from_str(key.trim())
            .map_err(|error| eyre!("--executor-key is not a secp256k1 secret in hex: {error}"))?,
        None => PrivateKeySigner::random(),
    };
    let mut bootstrap = args.bootstrap.clone();
    let chains = match &args.manifest {
        Some(path) => {
            let (chains, nodes) = read_manifest(path, &executor)?;
            if args.devnet_fund {
                for chain in &chains {
                    devnet_fund(chain).await?;
                }
            }
            bootstrap.extend(nodes);
            chains.into_iter().map(|chain| chain.endpoint).collect()
        }
        None => vec![ChainEndpoint {
            chain_id: args.chain_id.ok_or_else(|| eyre!("--chain-id is required without --manifest"))?,
            rpc_url: args.rpc_url.clone().ok_or_else(|| eyre!("--rpc-url (or --manifest) is required"))?,
            settlement: args.settlement.ok_or_else(|| eyre!("--settlement is required without --manifest"))?,
            executor: executor.clone(),
            solver_registry: args.solver_registry,
            native_price_asset: args.native_price_asset,
            flash_liquidator: None,
        }],
    };
    let min_margin = U256::from(args.min_margin) * U256::from(10u64).pow(U256::from(18));
    let strategy = Margin { margin_bps: args.margin_bps, min_margin };
    let config = SolverConfig {
        peer_secret_key: parse_peer_key(args.peer_key.as_deref())?,
        listen: vec![args.listen.clone()],
        bootstrap,
        chains,
    };
    let solver = SolverClient::start(config, strategy).await?;
    tracing::info!(
        peer_id = %solver.peer_id(),
        executor = %executor.address(),
        margin_bps = args.margin_bps,
        "margin bot running; ctrl-c to stop"
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
                        tracing::info!(%premium, ?collateral_received, gas_used, "won and settled");
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
