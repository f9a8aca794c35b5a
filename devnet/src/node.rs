//! Backstop node processes: one directory per node with its keys (0600), a `node.toml`
//! in the format of `node/example.toml`, its sled data and its log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::keys::{write_secret, EvmKey, PeerKey};
use crate::process::{wait_ready, ChildProcess, Ready};
use crate::DevnetError;

/// Auction windows the devnet's nodes announce (the protocol defaults).
#[derive(Debug, Clone)]
pub struct AuctionWindows {
    pub commit: Duration,
    pub reveal: Duration,
    pub open_jitter: Duration,
}

impl Default for AuctionWindows {
    fn default() -> Self {
        Self {
            commit: Duration::from_millis(800),
            reveal: Duration::from_millis(u64::from(backstop_protocol::timing::DEFAULT_REVEAL_MS)),
            open_jitter: Duration::from_millis(40),
        }
    }
}

/// What a node watches on one chain.
#[derive(Debug, Clone)]
pub struct WatchedChain {
    pub chain_id: u64,
    pub rpc_url: String,
    pub settlement: alloy::primitives::Address,
    pub solver_registry: alloy::primitives::Address,
    pub start_block: u64,
}

/// A node's identity and files, before and after it starts.
pub struct NodeSetup {
    pub name: String,
    pub dir: PathBuf,
    pub peer: PeerKey,
    pub attester: EvmKey,
    pub port: u16,
}

impl NodeSetup {
    pub fn new(dir: &Path, index: usize) -> Result<Self, DevnetError> {
        let name = format!("node-{index}");
        Ok(Self { dir: dir.join(&name), name, peer: PeerKey::random(), attester: EvmKey::random(), port: free_port()? })
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("node.toml")
    }

    pub fn ready_path(&self) -> PathBuf {
        self.dir.join("data/ready.json")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    pub fn listen_addr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.port)
    }

    /// Writes keys and `node.toml`; `bootstrap` lists the other nodes.
    pub fn write(
        &self,
        bootstrap: &[String],
        chains: &[WatchedChain],
        windows: &AuctionWindows,
    ) -> Result<(), DevnetError> {
        write_secret(&self.dir.join("keys/peer.key"), &self.peer.hex())?;
        write_secret(&self.dir.join("keys/attester.key"), &self.attester.hex())?;
        let quoted = |items: &[String]| items.iter().map(|item| format!("{item:?}")).collect::<Vec<_>>().join(", ");
        let mut toml = format!(
            "# Written by backstop-devnet. Run with: backstop node run --config node.toml\n\
             data_dir = \"data\"\n\
             peer_key = \"keys/peer.key\"\n\
             attester_key = \"keys/attester.key\"\n\
             listen = [{listen}]\n\
             bootstrap = [{bootstrap}]\n\
             # The operator API on a free port (see ready.json).\n\
             api_listen = \"127.0.0.1:0\"\n\n\
             [auction]\n\
             commit = \"{commit}ms\"\n\
             reveal = \"{reveal}ms\"\n\
             open_jitter = \"{jitter}ms\"\n",
            listen = quoted(&[self.listen_addr()]),
            bootstrap = quoted(bootstrap),
            commit = windows.commit.as_millis(),
            reveal = windows.reveal.as_millis(),
            jitter = windows.open_jitter.as_millis(),
        );
        for chain in chains {
            toml.push_str(&format!(
                "\n[[chains]]\nchain_id = {}\nrpc_url = {:?}\nws_url = {:?}\nsettlement = \"{}\"\nsolver_registry = \"{}\"\nstart_block = {}\npoll_interval = \"250ms\"\n# A devnet trusts its own registrations.\nwatch_all = true\n",
                chain.chain_id, chain.rpc_url, chain.rpc_url.replacen("http", "ws", 1), chain.settlement, chain.solver_registry, chain.start_block
            ));
        }
        let path = self.config_path();
        std::fs::create_dir_all(&self.dir).map_err(|source| DevnetError::Io { path: self.dir.clone(), source })?;
        std::fs::write(&path, toml).map_err(|source| DevnetError::Io { path, source })
    }

    /// Where the node keeps its sled database (`<data_dir>/db`).
    pub fn db_path(&self) -> PathBuf {
        self.dir.join("data/db")
    }

    /// Starts `backstop node run --config node.toml`, logging in `log_format`.
    pub fn start(&self, node_binary: &Path, log_format: LogFormat) -> Result<ChildProcess, DevnetError> {
        // A ready.json left from an earlier run would make the wait return at once.
        let _ = std::fs::remove_file(self.ready_path());
        let config = self.config_path();
        let config = config.to_string_lossy();
        ChildProcess::spawn_with_env(
            &self.name,
            node_binary,
            &["node", "run", "--config", &config],
            &[("BACKSTOP_LOG_FORMAT", log_format.as_str())],
            &self.log_path(),
        )
    }
}

/// How nodes write `node.log`: human-readable lines, or one JSON object per line
/// (tracing's JSON format: `{"timestamp","level","fields":{"message",..},"target"}`)
/// for tests that read what a node did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// A started node.
pub struct NodeProcess {
    pub setup: NodeSetup,
    pub process: ChildProcess,
    pub ready: Option<Ready>,
}

impl NodeProcess {
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<&Ready, DevnetError> {
        let ready = wait_ready(&self.process, &self.setup.ready_path(), timeout).await?;
        Ok(self.ready.insert(ready))
    }

    /// The operator API's address (`/status`, `/metrics`, `/health`), once ready.
    pub fn api(&self) -> Option<&str> {
        self.ready.as_ref().and_then(|ready| ready.api.as_deref())
    }

    pub fn name(&self) -> &str {
        &self.setup.name
    }

    pub fn log_path(&self) -> PathBuf {
        self.setup.log_path()
    }

    /// The node's sled database; readable (with the node's own `Store`) only while the
    /// node is not running, since sled locks it.
    pub fn db_path(&self) -> PathBuf {
        self.setup.db_path()
    }

    pub fn is_alive(&self) -> bool {
        self.process.id().is_some() && self.process.exited().is_none()
    }

    /// SIGKILLs the node (no shutdown code runs: what it did not flush is lost) and waits
    /// until it is gone.
    pub fn kill(&self) -> Result<(), DevnetError> {
        self.process.kill().map(|_| ())
    }

    /// Starts a killed or stopped node again with the same config, keys and data dir (so
    /// the same peer id and listen address), its output appended to the same log, and
    /// waits for it to write `ready.json` again. Returns the log's length before the
    /// restart: what the new run logs starts there.
    pub async fn restart(&self, timeout: Duration) -> Result<(u64, Ready), DevnetError> {
        let log_offset = std::fs::metadata(self.log_path()).map(|meta| meta.len()).unwrap_or(0);
        // The first run's ready.json would make the wait return before the new run listens.
        let ready_path = self.setup.ready_path();
        match std::fs::remove_file(&ready_path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(DevnetError::Io { path: ready_path, source }),
        }
        self.process.restart()?;
        let ready = wait_ready(&self.process, &ready_path, timeout).await?;
        Ok((log_offset, ready))
    }
}

/// A loopback TCP port that was free a moment ago. Chosen up front so every node's
/// config can name every other node, and below the kernel's ephemeral range: a port the
/// kernel hands out for outgoing connections (the deployment opens hundreds of them
/// before the nodes start) could be taken by one by the time the node binds it.
pub fn free_port() -> Result<u16, DevnetError> {
    use rand::Rng;
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let (low, high) = (10_000u16, ephemeral_start.saturating_sub(1));
    let mut rng = rand::thread_rng();
    if low < high {
        for _ in 0..256 {
            let port = rng.gen_range(low..=high);
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    // No room below the ephemeral range (an unusual kernel setting): any free port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|source| DevnetError::Io { path: PathBuf::from("127.0.0.1:0"), source })?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|source| DevnetError::Io { path: PathBuf::from("127.0.0.1:0"), source })
}

#[cfg(test)]
mod port_tests {
    use super::free_port;

    #[test]
    fn free_ports_are_bindable_and_outside_the_ephemeral_range() {
        let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
            .unwrap_or(32_768);
        for _ in 0..16 {
            let port = free_port().expect("a free port");
            assert!(port >= 10_000, "port {port}");
            if ephemeral_start > 10_001 {
                assert!(port < ephemeral_start, "port {port} is in the ephemeral range from {ephemeral_start}");
            }
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
        }
    }
}
