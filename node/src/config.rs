//! Node configuration: a TOML file (unknown keys are errors, durations are human
//! readable) plus clap overrides for process settings. `node/example.toml` documents
//! every key and is loaded by a test so it cannot rot.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Directory for the sled database.
    pub data_dir: PathBuf,
    /// File holding the hex ed25519 secret key: the peer identity and envelope key.
    pub peer_key: PathBuf,
    /// File holding the hex secp256k1 secret key of a committee member. Absent: the
    /// node watches, validates and relays, but does not vote.
    #[serde(default)]
    pub attester_key: Option<PathBuf>,
    /// libp2p listen addresses.
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Peers to dial at start and whenever they are unreachable.
    #[serde(default)]
    pub bootstrap: Vec<String>,
    #[serde(default)]
    pub auction: AuctionConfig,
    /// One entry per watched chain.
    pub chains: Vec<ChainConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuctionConfig {
    /// Commit window announced in the intents this node opens.
    #[serde(with = "humantime_serde", default = "default_commit")]
    pub commit: Duration,
    /// Reveal window announced in the intents this node opens.
    #[serde(with = "humantime_serde", default = "default_reveal")]
    pub reveal: Duration,
    /// Upper bound of the random delay before opening an intent, so that nodes seeing
    /// the same block do not all broadcast competing copies.
    #[serde(with = "humantime_serde", default = "default_open_jitter")]
    pub open_jitter: Duration,
    /// After a restart, the node follows its peers' intents but opens none of its own
    /// for this long: it cannot know the auctions that ran while it was down, and an
    /// intent of its own for one of them would start a competing round.
    #[serde(with = "humantime_serde", default = "default_restart_quiet")]
    pub restart_quiet: Duration,
}

impl Default for AuctionConfig {
    fn default() -> Self {
        Self {
            commit: default_commit(),
            reveal: default_reveal(),
            open_jitter: default_open_jitter(),
            restart_quiet: default_restart_quiet(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    pub chain_id: u64,
    /// HTTP JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain's LiquidationSettlement contract.
    pub settlement: Address,
    /// First block to index on a fresh database (markets and accounts are discovered
    /// from logs from here on). Ignored once a cursor is stored.
    #[serde(default)]
    pub start_block: u64,
    /// The chain's `SolverRegistry`. With one, only commits from bonded solver keys
    /// count; without one every key may bid (only for private deployments and tests:
    /// strangers can then fill auctions with fresh keys).
    #[serde(default)]
    pub solver_registry: Option<Address>,
    /// How often to poll for new blocks.
    #[serde(with = "humantime_serde", default = "default_poll")]
    pub poll_interval: Duration,
}

fn default_listen() -> Vec<String> {
    vec!["/ip4/0.0.0.0/tcp/9100".to_string()]
}
fn default_commit() -> Duration {
    Duration::from_millis(u64::from(backstop_protocol::timing::DEFAULT_COMMIT_MS))
}
fn default_reveal() -> Duration {
    Duration::from_millis(u64::from(backstop_protocol::timing::DEFAULT_REVEAL_MS))
}
fn default_open_jitter() -> Duration {
    Duration::from_millis(150)
}
/// One auction's full horizon: commit + reveal + the award's validity, plus slack.
fn default_restart_quiet() -> Duration {
    Duration::from_secs(15)
}
fn default_poll() -> Duration {
    Duration::from_millis(250)
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("invalid config {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl NodeConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut config: NodeConfig =
            toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        config.resolve_relative_paths(path.parent().unwrap_or(Path::new(".")));
        config.validate().map_err(|reason| ConfigError::Invalid { path: path.into(), reason })?;
        Ok(config)
    }

    /// Paths in the file are relative to the file, not to the working directory.
    fn resolve_relative_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        resolve(&mut self.data_dir);
        resolve(&mut self.peer_key);
        if let Some(key) = self.attester_key.as_mut() {
            resolve(key);
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.chains.is_empty() {
            return Err("no [[chains]] configured: add at least one chain to watch".into());
        }
        let mut ids: Vec<u64> = self.chains.iter().map(|chain| chain.chain_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.chains.len() {
            return Err("a chain_id appears twice in [[chains]]".into());
        }
        use backstop_protocol::timing::{MAX_WINDOW_MS, MIN_COMMIT_MS, MIN_REVEAL_MS};
        let window = |duration: Duration| u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
        if !(MIN_COMMIT_MS..=MAX_WINDOW_MS).contains(&window(self.auction.commit))
            || !(MIN_REVEAL_MS..=MAX_WINDOW_MS).contains(&window(self.auction.reveal))
        {
            return Err(format!(
                "auction windows must be within {MIN_COMMIT_MS}..={MAX_WINDOW_MS} ms (commit) and \
                 {MIN_REVEAL_MS}..={MAX_WINDOW_MS} ms (reveal); peers reject intents outside them"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("example.toml");
        let config = NodeConfig::load(&path).expect("node/example.toml must stay valid");
        assert_eq!(config.chains.len(), 2);
        assert_eq!(config.auction.commit, Duration::from_millis(800));
        assert!(config.data_dir.is_absolute(), "relative paths resolve against the file");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "data_dir = 'x'\npeer_key = 'k'\nchains = []\ntypo = 1\n").unwrap();
        let error = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(error.contains("typo"), "{error}");
    }

    #[test]
    fn a_config_without_chains_says_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "data_dir = 'x'\npeer_key = 'k'\nchains = []\n").unwrap();
        assert!(NodeConfig::load(&path).unwrap_err().to_string().contains("add at least one chain"));
    }
}
