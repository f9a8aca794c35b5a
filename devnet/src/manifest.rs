//! `manifest.json`: everything needed to talk to a running devnet from outside (RPC URLs,
//! addresses, keys, node and solver directories). Devnet keys only: never reuse them.

use std::path::PathBuf;

use alloy::primitives::{Address, B256};
use serde::Serialize;

use crate::market::{Deployment, MarketParameters};

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub dir: PathBuf,
    pub parameters: MarketParameters,
    pub chains: Vec<ChainEntry>,
    pub nodes: Vec<NodeEntry>,
    pub solvers: Vec<SolverEntry>,
    /// The keeper bots racing the open path (the same addresses on every chain).
    pub keepers: Vec<KeeperEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeeperEntry {
    pub name: String,
    pub address: Address,
    pub tip_share_bps: u32,
    pub min_profit_usd: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainEntry {
    pub chain_id: u64,
    pub rpc_url: String,
    pub log: PathBuf,
    pub deployer: Address,
    pub deployer_key: B256,
    pub deployment: Deployment,
    /// The baseline twin market (open liquidation only), when deployed.
    pub baseline: Option<Deployment>,
    /// The Morpho Blue market and its adapter, on the chain that has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub morpho: Option<crate::morpho::MorphoDeployment>,
    /// The chain's Uniswap V2 factory and pools (`crate::dex`).
    pub dex: crate::dex::DexDeployment,
    pub accounts: Vec<AccountEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountEntry {
    pub address: Address,
    pub key: B256,
    /// Token wei deposited, by collateral symbol.
    pub collateral: std::collections::BTreeMap<String, String>,
    /// USD wei.
    pub debt: String,
    pub collateral_ratio_bps: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeEntry {
    pub name: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    pub peer_id: String,
    pub listen_addrs: Vec<String>,
    pub attester: Address,
    pub attester_key: B256,
}

#[derive(Debug, Clone, Serialize)]
pub struct SolverEntry {
    pub name: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    /// "margin" or "fixed_premium".
    pub strategy: String,
    /// The margin bot's margin (bps of the bonus) or the fixed premium (bps of the repay).
    pub bps: u32,
    pub peer_id: String,
    pub executor: Address,
    pub executor_key: B256,
}
