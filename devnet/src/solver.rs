//! Solver processes: `backstop-devnet solver --config solver.toml` runs one
//! `backstop-solver-sdk` client with a fixed-premium strategy. This module holds the
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
    /// Premium bid, in basis points of the repay.
    pub premium_bps: u32,
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
        for chain in &mut file.chains {
            resolve(&mut chain.executor_key);
        }
        if file.chains.is_empty() {
            return Err(DevnetError::Config {
                path: path.into(),
                reason: "no [[chains]]: a solver must serve at least one chain".into(),
            });
        }
        if file.premium_bps > 10_000 {
            return Err(DevnetError::Config {
                path: path.into(),
                reason: "premium_bps above 10000 (100% of the repay)".into(),
            });
        }
        Ok(file)
    }
}

/// A solver the devnet runs: one peer key and one executor used on every chain.
pub struct SolverSetup {
    pub name: String,
    pub dir: PathBuf,
    pub premium_bps: u32,
    pub peer: PeerKey,
    pub executor: EvmKey,
}

impl SolverSetup {
    pub fn new(dir: &Path, index: usize, premium_bps: u32) -> Self {
        let name = format!("solver-{}-{premium_bps}bps", (b'a' + (index % 26) as u8) as char);
        Self { dir: dir.join(&name), name, premium_bps, peer: PeerKey::random(), executor: EvmKey::random() }
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

    /// Writes the solver's keys and config; `chains` is `(chain id, RPC, settlement, solver registry)`.
    pub fn write(&self, bootstrap: &[String], chains: &[(u64, String, Address, Address)]) -> Result<(), DevnetError> {
        write_secret(&self.dir.join("keys/peer.key"), &self.peer.hex())?;
        write_secret(&self.dir.join("keys/executor.key"), &self.executor.hex())?;
        let file = SolverFile {
            name: self.name.clone(),
            peer_key: "keys/peer.key".into(),
            premium_bps: self.premium_bps,
            listen: default_listen(),
            bootstrap: bootstrap.to_vec(),
            ready_file: Some("ready.json".into()),
            chains: chains
                .iter()
                .map(|(chain_id, rpc_url, settlement, registry)| SolverChain {
                    chain_id: *chain_id,
                    rpc_url: rpc_url.clone(),
                    settlement: *settlement,
                    executor_key: "keys/executor.key".into(),
                    solver_registry: Some(*registry),
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
