//! Solver processes: `backstop-devnet solver --config solver.toml` runs one
//! `backstop-solver-sdk` client with the SDK's margin strategy (`margin_bps`: bid the
//! bonus minus gas and that margin), its flash-swap one (`flash_margin_bps`: value the
//! seized collateral at the chain's Uniswap V2 pools, settle through a `FlashLiquidator`
//! with no debt inventory) or its fixed-premium one (`premium_bps`). This module holds the
//! config file format, the setup the devnet writes, and the runner itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::keys::{write_secret, EvmKey, PeerKey};
use crate::process::{wait_ready, ChildProcess, Ready};
use crate::DevnetError;

mod runner;
pub use runner::run;

/// `solver.toml`. Relative paths are relative to the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverFile {
    /// Shown in logs and reports.
    pub name: String,
    /// Hex ed25519 secret: the solver's peer identity.
    pub peer_key: PathBuf,
    /// Fixed-premium strategy: premium bid, in basis points of the repay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_bps: Option<u32>,
    /// Margin strategy: bid the liquidation bonus minus gas and this share of the bonus
    /// (basis points). Exactly one of `premium_bps` and `margin_bps` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_bps: Option<u32>,
    /// Flash-swap strategy: bid what the seized collateral sells for on the chain's DEX,
    /// minus the repay, gas and this share of the surplus (basis points). Needs every
    /// chain's `flash_liquidator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_margin_bps: Option<u32>,
    /// Testing the runner-up path: win auctions but never settle them, appending each such
    /// intent id (hex, one per line) to this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_show_log: Option<PathBuf>,
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Nodes to dial.
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// Where to write `{peer_id, listen_addrs}` once listening.
    #[serde(default)]
    pub ready_file: Option<PathBuf>,
    pub chains: Vec<SolverChain>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverChain {
    pub chain_id: u64,
    pub rpc_url: String,
    pub settlement: Address,
    /// Hex secp256k1 secret of the executor that settles awards on this chain.
    pub executor_key: PathBuf,
    /// The chain's SolverRegistry (the solver bonds its key there at start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solver_registry: Option<Address>,
    /// A collateral priced like the gas coin (the devnet's WETH): the margin strategy
    /// prices gas in debt units with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_price_asset: Option<Address>,
    /// The executor's `FlashLiquidator` on this chain (flash-swap solvers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_liquidator: Option<Address>,
}

fn default_listen() -> Vec<String> {
    vec!["/ip4/127.0.0.1/tcp/0".into()]
}

impl SolverFile {
    pub fn load(path: &Path) -> Result<Self, DevnetError> {
        let text = std::fs::read_to_string(path).map_err(|source| DevnetError::Io { path: path.into(), source })?;
        let mut file: SolverFile = toml::from_str(&text)
            .map_err(|error| DevnetError::Config { path: path.into(), reason: error.to_string() })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |relative: &mut PathBuf| {
            if relative.is_relative() {
                *relative = base.join(&*relative);
            }
        };
        resolve(&mut file.peer_key);
        if let Some(ready) = file.ready_file.as_mut() {
            resolve(ready);
        }
        if let Some(log) = file.no_show_log.as_mut() {
            resolve(log);
        }
        for chain in &mut file.chains {
            resolve(&mut chain.executor_key);
        }
        if file.chains.is_empty() {
            return Err(DevnetError::Config {
                path: path.into(),
                reason: "no [[chains]]: a solver must serve at least one chain".into(),
            });
        }
        let strategy = file.strategy().map_err(|reason| DevnetError::Config { path: path.into(), reason })?;
        if matches!(strategy, SolverStrategy::FlashSwap { .. }) {
            if let Some(chain) = file.chains.iter().find(|chain| chain.flash_liquidator.is_none()) {
                return Err(DevnetError::Config {
                    path: path.into(),
                    reason: format!(
                        "flash_margin_bps needs flash_liquidator on every chain (chain {})",
                        chain.chain_id
                    ),
                });
            }
        }
        Ok(file)
    }

    /// The strategy the file configures.
    pub fn strategy(&self) -> Result<SolverStrategy, String> {
        match (self.premium_bps, self.margin_bps, self.flash_margin_bps) {
            (Some(bps), None, None) if bps <= 10_000 => Ok(SolverStrategy::FixedPremium { bps }),
            (None, Some(bps), None) if bps <= 10_000 => Ok(SolverStrategy::Margin { bps }),
            (None, None, Some(bps)) if bps <= 10_000 => Ok(SolverStrategy::FlashSwap { bps }),
            (Some(_), None, None) => Err("premium_bps above 10000 (100% of the repay)".into()),
            (None, Some(_), None) => Err("margin_bps above 10000 (the whole bonus)".into()),
            (None, None, Some(_)) => Err("flash_margin_bps above 10000 (the whole surplus)".into()),
            _ => Err("set exactly one of premium_bps (fixed premium), margin_bps (margin bot) and flash_margin_bps \
                      (flash-swap bot)"
                .into()),
        }
    }
}

/// How a devnet solver bids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolverStrategy {
    /// `backstop_solver_sdk::strategies::FixedPremium`: `bps` of the repay.
    FixedPremium { bps: u32 },
    /// `backstop_solver_sdk::strategies::Margin`: the bonus minus gas and `bps` of the bonus.
    Margin { bps: u32 },
    /// `backstop_solver_sdk::strategies::FlashSwap`: the DEX value of the seized collateral
    /// minus repay, gas and `bps` of the surplus, settled through a `FlashLiquidator`.
    FlashSwap { bps: u32 },
}

impl SolverStrategy {
    /// The strategy's basis points (premium or margin).
    pub fn bps(&self) -> u32 {
        match self {
            Self::FixedPremium { bps } | Self::Margin { bps } | Self::FlashSwap { bps } => *bps,
        }
    }

    /// "fixed_premium", "margin" or "flash_swap".
    pub fn name(&self) -> &'static str {
        match self {
            Self::FixedPremium { .. } => "fixed_premium",
            Self::Margin { .. } => "margin",
            Self::FlashSwap { .. } => "flash_swap",
        }
    }
}

/// A solver the devnet runs: one peer key and one executor used on every chain.
pub struct SolverSetup {
    pub name: String,
    pub dir: PathBuf,
    pub strategy: SolverStrategy,
    pub peer: PeerKey,
    pub executor: EvmKey,
    /// The executor's `FlashLiquidator` per chain id (flash-swap solvers; see
    /// [`SolverSetup::deploy_flash_liquidators`]).
    pub flash_liquidators: std::collections::BTreeMap<u64, Address>,
    /// Wins auctions and never settles them (the `solver-no-show` scenario).
    pub no_show: bool,
}

impl SolverSetup {
    pub fn new(dir: &Path, index: usize, strategy: SolverStrategy) -> Self {
        let letter = (b'a' + (index % 26) as u8) as char;
        let name = match strategy {
            SolverStrategy::FixedPremium { bps } => format!("solver-{letter}-{bps}bps"),
            SolverStrategy::Margin { bps } => format!("solver-{letter}-margin-{bps}bps"),
            SolverStrategy::FlashSwap { bps } => format!("solver-{letter}-flash-{bps}bps"),
        };
        Self {
            dir: dir.join(&name),
            name,
            strategy,
            peer: PeerKey::random(),
            executor: EvmKey::random(),
            flash_liquidators: Default::default(),
            no_show: false,
        }
    }

    /// For a flash-swap solver, deploys on every chain a `FlashLiquidator` owned by its
    /// executor, on the chain's settlement and Uniswap V2 factory (the devnet does it, as a
    /// trading team would once per chain with `backstop_solver_sdk::deploy_flash_liquidator`).
    pub async fn deploy_flash_liquidators(&mut self, chains: &[crate::DevnetChain]) -> Result<(), DevnetError> {
        if !matches!(self.strategy, SolverStrategy::FlashSwap { .. }) {
            return Ok(());
        }
        for chain in chains {
            let liquidator = backstop_solver_sdk::deploy_flash_liquidator(
                &chain.chain.provider,
                self.executor.address(),
                chain.deployment.settlement,
                chain.dex.factory,
            )
            .await
            .map_err(|error| chain.chain.error("deploy FlashLiquidator", error))?;
            self.flash_liquidators.insert(chain.chain.chain_id, liquidator);
        }
        Ok(())
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("solver.toml")
    }

    pub fn ready_path(&self) -> PathBuf {
        self.dir.join("ready.json")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("solver.log")
    }

    /// Where a no-show solver lists the intents it won and walked away from.
    pub fn no_show_log_path(&self) -> PathBuf {
        self.dir.join("no-show.log")
    }

    /// Writes the solver's keys and config; `chains` is `(chain id, RPC, settlement, solver
    /// registry, native price asset)`.
    pub fn write(
        &self,
        bootstrap: &[String],
        chains: &[(u64, String, Address, Address, Option<Address>)],
    ) -> Result<(), DevnetError> {
        write_secret(&self.dir.join("keys/peer.key"), &self.peer.hex())?;
        write_secret(&self.dir.join("keys/executor.key"), &self.executor.hex())?;
        let file = SolverFile {
            name: self.name.clone(),
            peer_key: "keys/peer.key".into(),
            premium_bps: match self.strategy {
                SolverStrategy::FixedPremium { bps } => Some(bps),
                _ => None,
            },
            margin_bps: match self.strategy {
                SolverStrategy::Margin { bps } => Some(bps),
                _ => None,
            },
            flash_margin_bps: match self.strategy {
                SolverStrategy::FlashSwap { bps } => Some(bps),
                _ => None,
            },
            listen: default_listen(),
            bootstrap: bootstrap.to_vec(),
            ready_file: Some("ready.json".into()),
            no_show_log: self.no_show.then(|| "no-show.log".into()),
            chains: chains
                .iter()
                .map(|(chain_id, rpc_url, settlement, registry, native_price_asset)| SolverChain {
                    chain_id: *chain_id,
                    rpc_url: rpc_url.clone(),
                    settlement: *settlement,
                    executor_key: "keys/executor.key".into(),
                    solver_registry: Some(*registry),
                    native_price_asset: *native_price_asset,
                    flash_liquidator: self.flash_liquidators.get(chain_id).copied(),
                })
                .collect(),
        };
        let text = toml::to_string_pretty(&file)
            .map_err(|error| DevnetError::Config { path: self.config_path(), reason: error.to_string() })?;
        let path = self.config_path();
        let text =
            format!("# Written by backstop-devnet. Run with: backstop-devnet solver --config solver.toml\n{text}");
        std::fs::write(&path, text).map_err(|source| DevnetError::Io { path, source })
    }

    pub fn start(&self, devnet_binary: &Path) -> Result<ChildProcess, DevnetError> {
        let _ = std::fs::remove_file(self.ready_path());
        let config = self.config_path();
        let config = config.to_string_lossy();
        ChildProcess::spawn(&self.name, devnet_binary, &["solver", "--config", &config], &self.log_path())
    }
}

/// A started solver.
pub struct SolverProcess {
    pub setup: SolverSetup,
    pub process: ChildProcess,
    pub ready: Option<Ready>,
}

impl SolverProcess {
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<&Ready, DevnetError> {
        let ready = wait_ready(&self.process, &self.setup.ready_path(), timeout).await?;
        Ok(self.ready.insert(ready))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(premium_bps: Option<u32>, margin_bps: Option<u32>) -> SolverFile {
        SolverFile {
            name: "solver".into(),
            peer_key: "keys/peer.key".into(),
            premium_bps,
            margin_bps,
            flash_margin_bps: None,
            no_show_log: None,
            listen: default_listen(),
            bootstrap: Vec::new(),
            ready_file: None,
            chains: Vec::new(),
        }
    }

    #[test]
    fn a_solver_file_names_exactly_one_strategy() {
        assert_eq!(file(None, Some(200)).strategy(), Ok(SolverStrategy::Margin { bps: 200 }));
        assert_eq!(file(Some(150), None).strategy(), Ok(SolverStrategy::FixedPremium { bps: 150 }));
        assert!(file(None, None).strategy().is_err());
        assert!(file(Some(150), Some(200)).strategy().is_err());
        assert!(file(None, Some(10_001)).strategy().is_err());
        let flash = SolverFile { flash_margin_bps: Some(300), ..file(None, None) };
        assert_eq!(flash.strategy(), Ok(SolverStrategy::FlashSwap { bps: 300 }));
        assert!(SolverFile { flash_margin_bps: Some(300), ..file(None, Some(200)) }.strategy().is_err());
    }

    #[test]
    fn the_written_margin_config_parses_back() {
        let text = toml::to_string_pretty(&file(None, Some(500))).unwrap();
        let parsed: SolverFile = toml::from_str(&text).unwrap();
        assert_eq!(parsed.strategy(), Ok(SolverStrategy::Margin { bps: 500 }));
        assert!(!text.contains("premium_bps"), "unset strategies are not written: {text}");
    }
}
