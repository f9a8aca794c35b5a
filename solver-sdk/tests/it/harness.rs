//! A real devnet (anvil, deployed contracts, three `backstop` node processes, no devnet
//! solvers) and in-process `SolverClient` bots with executors the test funds itself.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use backstop_bindings::TestToken;
use backstop_devnet::{Devnet, DevnetChain};
use backstop_solver_sdk::{AuctionOutcome, ChainEndpoint, SolverClient, SolverConfig, SolverHandle, Strategy};
use tokio::sync::broadcast::{self, error::TryRecvError};

/// Gas money of a test executor (the registry bond is 0.1 ETH).
const GAS_MONEY_WEI: u128 = 100_000_000_000_000_000_000;
pub const WAD: u128 = 1_000_000_000_000_000_000;

/// One chain, three nodes (threshold 2), no solver processes.
pub async fn devnet_without_solvers() -> eyre::Result<Devnet> {
    devnet_without_solvers_with(backstop_devnet::MarketParameters::default()).await
}

/// [`devnet_without_solvers`] with other market (and DEX) parameters.
pub async fn devnet_without_solvers_with(parameters: backstop_devnet::MarketParameters) -> eyre::Result<Devnet> {
    Ok(Devnet::builder().chains(1).nodes(3).threshold(2).margin_solvers(&[]).parameters(parameters).start().await?)
}

pub fn chain(devnet: &Devnet) -> &DevnetChain {
    &devnet.chains()[0]
}

/// Gives `executor` gas money and `usd_whole` of the debt asset.
pub async fn fund(devnet: &Devnet, executor: Address, usd_whole: u128) -> eyre::Result<()> {
    let chain = chain(devnet);
    chain
        .chain
        .provider
        .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (executor, U256::from(GAS_MONEY_WEI)))
        .await?;
    if usd_whole > 0 {
        let usd = TestToken::new(chain.deployment.usd, chain.chain.provider.clone());
        let receipt = usd.mint(executor, U256::from(usd_whole * WAD)).send().await?.get_receipt().await?;
        eyre::ensure!(receipt.status(), "minting USD reverted");
    }
    Ok(())
}

/// A bot under test: its client, executor and every outcome it reported so far.
pub struct Bot {
    pub name: &'static str,
    pub executor: PrivateKeySigner,
    pub handle: SolverHandle,
    receiver: broadcast::Receiver<AuctionOutcome>,
    pub outcomes: Vec<AuctionOutcome>,
}

impl Bot {
    /// Starts `strategy` on the devnet's chain with `executor`, and waits until it is
    /// connected to every node.
    pub async fn start<S: Strategy>(
        devnet: &Devnet,
        name: &'static str,
        executor: PrivateKeySigner,
        strategy: S,
    ) -> eyre::Result<Self> {
        Self::start_with(devnet, name, executor, None, strategy).await
    }

    /// [`Bot::start`] with a `FlashLiquidator` owned by `executor` as the executor awards name.
    pub async fn start_with<S: Strategy>(
        devnet: &Devnet,
        name: &'static str,
        executor: PrivateKeySigner,
        flash_liquidator: Option<Address>,
        strategy: S,
    ) -> eyre::Result<Self> {
        let chain = chain(devnet);
        let deployment = &chain.deployment;
        let bootstrap = devnet.nodes().iter().map(|node| node.setup.listen_addr().parse()).collect::<Result<_, _>>()?;
        let mut peer_secret_key = [0u8; 32];
        peer_secret_key[..20].copy_from_slice(executor.address().as_slice());
        let config = SolverConfig {
            peer_secret_key,
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
            bootstrap,
            chains: vec![ChainEndpoint {
                chain_id: chain.chain.chain_id,
                rpc_url: chain.chain.rpc_url.clone(),
                settlement: deployment.settlement,
                executor: executor.clone(),
                solver_registry: Some(deployment.solver_registry),
                native_price_asset: deployment.collateral("WETH").map(|collateral| collateral.token),
                flash_liquidator,
            }],
        };
        let handle = SolverClient::start(config, strategy).await?;
        let receiver = handle.outcomes();
        let nodes = devnet.nodes().len();
        backstop_devnet::wait_for(&format!("{name} to connect to every node"), Duration::from_secs(20), || async {
            handle.peer_count().await >= nodes
        })
        .await?;
        Ok(Self { name, executor, handle, receiver, outcomes: Vec::new() })
    }

    /// Takes in every outcome reported since the last call.
    pub fn drain(&mut self) {
        loop {
            match self.receiver.try_recv() {
                Ok(outcome) => self.outcomes.push(outcome),
                Err(TryRecvError::Lagged(_)) => continue,
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
            }
        }
    }

    pub fn count(&self, label: &str) -> usize {
        self.outcomes.iter().filter(|outcome| outcome.label() == label).count()
    }
}

/// Drains `bots` every 200 ms until `done` holds for them or `timeout` passes; the error
/// lists every outcome seen.
pub async fn until(bots: &mut [&mut Bot], timeout: Duration, done: impl Fn(&[&mut Bot]) -> bool) -> eyre::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        for bot in bots.iter_mut() {
            bot.drain();
        }
        if done(bots) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            let seen: Vec<String> = bots.iter().map(|bot| format!("{}: {:#?}", bot.name, bot.outcomes)).collect();
            eyre::bail!("timed out after {timeout:?}; outcomes so far:\n{}", seen.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The executor's balance of `token`.
pub async fn balance_of(devnet: &Devnet, token: Address, owner: Address) -> eyre::Result<U256> {
    Ok(TestToken::new(token, chain(devnet).chain.provider.clone()).balanceOf(owner).call().await?)
}
