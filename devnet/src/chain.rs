//! One local EVM chain: an anvil process on a free loopback port, and a provider that
//! signs for the deployer and the devnet's accounts.
//!
//! Chains start with instant mining so deployment and seeding take milliseconds, then
//! switch to a block clock (1 s blocks) before nodes and solvers start.
//!
//! The clock is the devnet's, not anvil's: a task that calls `evm_mine` once a period and
//! waits for the block before it counts the next period. anvil's own interval miner
//! (`evm_setIntervalMining`) takes a snapshot of the ready transactions at every tick and
//! queues it for a block producer that mines one block at a time; once a block takes longer
//! than the period (anvil 1.7 recomputes the whole state trie every block: about 1.6 ms per
//! thousand storage slots, seconds at 10,000 accounts a chain under load), the queue only
//! grows, every block mines a snapshot whose transactions an earlier block already included,
//! and the chain produces empty blocks while its pool fills. `evm_mine` mines what is ready
//! now, so a slow chain gets longer blocks, never stale ones.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, PendingTransactionBuilder, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;

use crate::DevnetError;

/// Ether given to every account, executor and the deployer (gas only).
const GAS_MONEY_WEI: u128 = 1_000 * 10u128.pow(18);

pub struct LocalChain {
    pub chain_id: u64,
    pub rpc_url: String,
    pub provider: DynProvider,
    pub deployer: PrivateKeySigner,
    /// Held by whoever mines: the block clock for each of its blocks, and
    /// [`LocalChain::pause_mining`] while a step goes into one block.
    mining: Arc<tokio::sync::Mutex<()>>,
    /// The block clock's task, once started; aborted when the chain is dropped.
    clock: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
    // Dropping the instance stops anvil.
    _anvil: AnvilInstance,
}

impl Drop for LocalChain {
    fn drop(&mut self) {
        if let Some(clock) = self.clock.get_mut().ok().and_then(Option::take) {
            clock.abort();
        }
    }
}

/// While held, the block clock mines nothing: transactions sent meanwhile wait in the pool
/// and land together in the next block ([`LocalChain::mine_block`]).
pub struct MiningPaused(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>);

impl LocalChain {
    /// The anvil process's id (for its resident memory in the report).
    pub fn pid(&self) -> u32 {
        self._anvil.child().id()
    }

    /// Starts anvil with `chain_id`, its output going to `log`. `signers` are the keys the
    /// provider may send from besides the deployer (anvil's first dev key).
    pub fn spawn(
        anvil_path: &Path,
        chain_id: u64,
        log: &Path,
        signers: &[PrivateKeySigner],
    ) -> Result<Self, DevnetError> {
        Self::spawn_with_args(anvil_path, chain_id, log, signers, &[])
    }

    /// [`Self::spawn`] with extra anvil arguments (e.g. `--gas-limit` for bulk seeding).
    pub fn spawn_with_args(
        anvil_path: &Path,
        chain_id: u64,
        log: &Path,
        signers: &[PrivateKeySigner],
        extra_args: &[&str],
    ) -> Result<Self, DevnetError> {
        let launcher = die_with_parent_launcher(anvil_path, log)?;
        let mut anvil = Anvil::new()
            .path(&launcher)
            .host("127.0.0.1")
            .chain_id(chain_id)
            .args(["--accounts", "1"])
            .args(extra_args)
            .keep_stdout()
            .try_spawn()
            .map_err(|error| DevnetError::Chain {
                chain_id,
                step: "start anvil".into(),
                reason: format!("{error} (anvil at {}; run `bash contracts/setup.sh`)", anvil_path.display()),
            })?;
        copy_output_to(&mut anvil, log)?;

        let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
        let mut wallet = EthereumWallet::from(deployer.clone());
        for signer in signers {
            wallet.register_signer(signer.clone());
        }
        let rpc_url = anvil.endpoint();
        let provider = ProviderBuilder::new().wallet(wallet).connect_http(anvil.endpoint_url()).erased();
        provider.client().set_poll_interval(Duration::from_millis(50));
        Ok(Self {
            chain_id,
            rpc_url,
            provider,
            deployer,
            mining: Arc::default(),
            clock: std::sync::Mutex::new(None),
            _anvil: anvil,
        })
    }

    pub fn deployer_address(&self) -> Address {
        self.deployer.address()
    }

    /// Gives `account` ether for gas (anvil cheat).
    pub async fn fund_gas(&self, account: Address) -> Result<(), DevnetError> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (account, U256::from(GAS_MONEY_WEI)))
            .await
            .map_err(|error| self.error("fund gas", error))?;
        Ok(())
    }

    /// From instant mining to one block every `period`, mined by the devnet's block clock
    /// (see the module docs for why not anvil's interval miner). A block that takes longer
    /// than the period delays the next one; there is never a backlog. Idempotent.
    pub async fn start_block_clock(&self, period: Duration) -> Result<(), DevnetError> {
        self.provider
            .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,))
            .await
            .map_err(|error| self.error("switch instant mining off", error))?;
        let mut clock = self.clock.lock().map_err(|_| self.error("start the block clock", "lock poisoned"))?;
        if clock.is_some() {
            return Ok(());
        }
        let provider = self.provider.clone();
        let mining = self.mining.clone();
        let chain_id = self.chain_id;
        let task = tokio::spawn(async move {
            let mut next = tokio::time::Instant::now() + period;
            loop {
                tokio::time::sleep_until(next).await;
                let started = tokio::time::Instant::now();
                {
                    let _mining = mining.lock().await;
                    if let Err(error) = provider.raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await {
                        // The chain going away at shutdown ends up here too; the next tick retries.
                        tracing::debug!(chain_id, %error, "block clock: evm_mine failed");
                    }
                }
                next = (started + period).max(tokio::time::Instant::now());
            }
        });
        *clock = Some(task.abort_handle());
        Ok(())
    }

    /// Holds the block clock until the returned guard is dropped: transactions sent
    /// meanwhile wait in the pool and land in one block ([`LocalChain::mine_block`]).
    /// Before the clock starts the chain mines instantly, so pausing changes nothing then.
    pub async fn pause_mining(&self) -> MiningPaused {
        MiningPaused(self.mining.clone().lock_owned().await)
    }

    /// Mines one block now with whatever is pending.
    pub async fn mine_block(&self) -> Result<(), DevnetError> {
        self.provider
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .map_err(|error| self.error("mine a block", error))?;
        Ok(())
    }

    /// Waits for the receipt of a sent transaction and fails if it reverted.
    pub async fn confirm(
        &self,
        step: &str,
        pending: Result<PendingTransactionBuilder<alloy::network::Ethereum>, alloy::contract::Error>,
    ) -> Result<TransactionReceipt, DevnetError> {
        let pending = pending.map_err(|error| self.error(step, error))?;
        let receipt = pending
            .with_timeout(Some(Duration::from_secs(30)))
            .get_receipt()
            .await
            .map_err(|error| self.error(step, error))?;
        if !receipt.status() {
            return Err(self.error(step, format!("transaction {} reverted", receipt.transaction_hash)));
        }
        Ok(receipt)
    }

    pub fn error(&self, step: &str, error: impl std::fmt::Display) -> DevnetError {
        DevnetError::Chain { chain_id: self.chain_id, step: step.to_string(), reason: error.to_string() }
    }
}

/// alloy's `Anvil` spawns the program itself, so it cannot set `PR_SET_PDEATHSIG` the way
/// [`crate::process`] does. Instead it starts a launcher script next to the log that
/// `exec`s util-linux `setpriv --pdeathsig KILL` which `exec`s anvil: one process, whose
/// parent is the devnet, killed by the kernel if the devnet dies without cleaning up.
/// Without `setpriv` (or off Linux) anvil is started directly and only the
/// `AnvilInstance` guard stops it.
fn die_with_parent_launcher(anvil_path: &Path, log: &Path) -> Result<std::path::PathBuf, DevnetError> {
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().map(Path::new).find(|path| path.is_file());
    let (true, Some(setpriv), Some(dir)) = (cfg!(target_os = "linux"), setpriv, log.parent()) else {
        return Ok(anvil_path.to_path_buf());
    };
    let quote = |path: &Path| format!("'{}'", path.display().to_string().replace('\'', r"'\''"));
    let script = dir.join("anvil-launcher.sh");
    let text = format!(
        "#!/bin/sh\n# Written by backstop-devnet: anvil dies with the devnet.\nexec {} --pdeathsig KILL -- {} \"$@\"\n",
        quote(setpriv),
        quote(anvil_path)
    );
    let io = |source| DevnetError::Io { path: script.clone(), source };
    std::fs::write(&script, text).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    Ok(script)
}

/// anvil logs every request to stdout; drain it into a file so the pipe never fills.
fn copy_output_to(anvil: &mut AnvilInstance, log: &Path) -> Result<(), DevnetError> {
    let mut file = std::fs::File::create(log).map_err(|source| DevnetError::Io { path: log.to_path_buf(), source })?;
    if let Some(stdout) = anvil.child_mut().stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if writeln!(file, "{line}").is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}
