//! Node configuration: a TOML file (unknown keys are errors, durations are human
//! readable) plus clap overrides for process settings. `node/example.toml` documents
//! every key and is loaded by a test so it cannot rot.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, B256};
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
    #[serde(default)]
    pub risk: RiskConfig,
    /// Address of the operator API (`/metrics`, `/health`, `/status`); port 0 picks a
    /// free one (the bound address is written to `ready.json`). Omit to disable.
    #[serde(default = "default_api_listen")]
    pub api_listen: Option<String>,
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

/// The risk engine's settings (see `node/src/risk`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// Accounts whose health ratio is within this margin above 1 (plus the volatility
    /// term) form the at-risk watchlist, judged first on the next block.
    #[serde(default = "default_at_risk_distance")]
    pub at_risk_distance: f64,
    /// The watchlist margin grows by this multiple of the market's highest one-hour
    /// collateral volatility.
    #[serde(default = "default_at_risk_volatility_multiple")]
    pub at_risk_volatility_multiple: f64,
    /// Consecutive faulty blocks (reverting views, model and chain disagreeing) after
    /// which a market is quarantined.
    #[serde(default = "default_quarantine_after")]
    pub quarantine_after: u32,
    /// How long a quarantined market is left alone before it is scanned again.
    #[serde(with = "humantime_serde", default = "default_quarantine_for")]
    pub quarantine_for: Duration,
    /// Most accounts of one market confirmed on chain (and handed to the auctions) per
    /// block: those never confirmed before lead, the worst health first; the rest wait
    /// for the next blocks. A crash can put thousands of accounts under in one block,
    /// more than a block can settle, and confirming them all costs the watcher (and the
    /// RPC node) whole blocks, during which it opens nothing.
    #[serde(default = "default_confirm_per_block")]
    pub confirm_per_block: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            at_risk_distance: default_at_risk_distance(),
            at_risk_volatility_multiple: default_at_risk_volatility_multiple(),
            quarantine_after: default_quarantine_after(),
            quarantine_for: default_quarantine_for(),
            confirm_per_block: default_confirm_per_block(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    pub chain_id: u64,
    /// HTTP JSON-RPC endpoint.
    pub rpc_url: String,
    /// WebSocket endpoint of the same node, for new-head notifications (the watcher
    /// reacts to a block as it arrives instead of at the next poll). Without it, or
    /// while the subscription is down, the watcher polls every `poll_interval`.
    #[serde(default)]
    pub ws_url: Option<String>,
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
    /// Watch every market registered on the settlement. Registration is permissionless
    /// and an adapter can lie or revert, so this is for devnets; on a public network
    /// list the markets (or adapters) to watch instead.
    #[serde(default)]
    pub watch_all: bool,
    /// Market ids (keccak256 of the adapter address) to watch.
    #[serde(default)]
    pub watch_markets: Vec<B256>,
    /// Adapters to watch (any market they are registered as).
    #[serde(default)]
    pub watch_adapters: Vec<Address>,
}

impl ChainConfig {
    /// Whether the configuration allows watching this registration.
    pub fn watches(&self, market_id: B256, adapter: Address) -> bool {
        self.watch_all || self.watch_markets.contains(&market_id) || self.watch_adapters.contains(&adapter)
    }
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
/// Short: a block's first intent should leave within 100 ms. Competing copies are
/// harmless (every peer keeps the same one), they only cost bandwidth.
fn default_open_jitter() -> Duration {
    Duration::from_millis(40)
}
fn default_at_risk_distance() -> f64 {
    0.05
}
fn default_at_risk_volatility_multiple() -> f64 {
    4.0
}
fn default_quarantine_after() -> u32 {
    3
}
/// A settlement costs about 300k gas: 128 is more than a 30M-gas block settles.
fn default_confirm_per_block() -> usize {
    128
}
fn default_quarantine_for() -> Duration {
    Duration::from_secs(600)
}
fn default_api_listen() -> Option<String> {
    Some("127.0.0.1:9180".into())
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
        for chain in &self.chains {
            if !chain.watch_all && chain.watch_markets.is_empty() && chain.watch_adapters.is_empty() {
                return Err(format!(
                    "chain {} watches no market: list watch_markets (or watch_adapters), or set watch_all = true on a devnet",
                    chain.chain_id
                ));
            }
        }
        if !(0.0..=10.0).contains(&self.risk.at_risk_distance)
            || !(0.0..=1000.0).contains(&self.risk.at_risk_volatility_multiple)
        {
            return Err(
                "risk.at_risk_distance must be within 0..=10 and risk.at_risk_volatility_multiple within 0..=1000"
                    .into(),
            );
        }
        if !(1..=100_000).contains(&self.risk.confirm_per_block) {
            return Err("risk.confirm_per_block must be within 1..=100000".into());
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
        assert!(!config.chains[0].watch_all && config.chains[0].watch_markets.len() == 1);
        assert_eq!(config.risk.quarantine_for, Duration::from_secs(600));
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
    fn a_chain_that_watches_nothing_says_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        let chain = "[[chains]]\nchain_id = 1\nrpc_url = 'http://x'\nsettlement = '0x5FbDB2315678afecb367f032d93F642f64180aa3'\n";
        std::fs::write(&path, format!("data_dir = 'x'\npeer_key = 'k'\n{chain}")).unwrap();
        let error = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(error.contains("watch_markets") && error.contains("watch_all"), "{error}");
        std::fs::write(&path, format!("data_dir = 'x'\npeer_key = 'k'\n{chain}watch_all = true\n")).unwrap();
        assert!(NodeConfig::load(&path).is_ok());
    }

    #[test]
    fn a_config_without_chains_says_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "data_dir = 'x'\npeer_key = 'k'\nchains = []\n").unwrap();
        assert!(NodeConfig::load(&path).unwrap_err().to_string().contains("add at least one chain"));
    }
}
