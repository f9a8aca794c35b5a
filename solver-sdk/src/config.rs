//! What a solver needs to start: its peer identity, where to find the network, and for
//! every chain it serves an RPC endpoint, the settlement contract and an executor wallet.

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use libp2p::Multiaddr;

use crate::error::SolverError;

/// Configuration of a [`crate::SolverClient`].
#[derive(Clone)]
pub struct SolverConfig {
    /// ed25519 secret: the libp2p identity and the key that signs every commit and reveal.
    pub peer_secret_key: [u8; 32],
    /// Addresses to listen on, usually `/ip4/127.0.0.1/tcp/0`.
    pub listen: Vec<Multiaddr>,
    /// Node addresses to dial (and keep redialling while unreachable).
    pub bootstrap: Vec<Multiaddr>,
    /// The chains this solver serves; at least one, each chain id once.
    pub chains: Vec<ChainEndpoint>,
}

/// One chain the solver bids on and settles on.
///
/// `executor` is the wallet that signs every transaction. With a
/// [`ChainEndpoint::flash_liquidator`] the contract is the executor awards name.
#[derive(Clone)]
pub struct ChainEndpoint {
    /// The chain id the RPC must serve (checked at start).
    pub chain_id: u64,
    /// HTTP JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain's `LiquidationSettlement` contract.
    pub settlement: Address,
    /// The wallet named in our reveals; only it may settle our awards, and it pays the
    /// repay and the premium in the market's debt asset.
    pub executor: PrivateKeySigner,
    /// The chain's `SolverRegistry`. When set, the client bonds our key with the
    /// executor at start (paying the registry's `minBond` once) and, like the nodes,
    /// counts only bonded solvers' bids. `None` only for networks without admission.
    pub solver_registry: Option<Address>,
    /// A collateral asset the chain's markets price like its native coin (WETH where gas
    /// is paid in ETH). When set, [`crate::Pricing::native_price_wad`] carries its oracle
    /// price so strategies can express gas in debt units.
    pub native_price_asset: Option<Address>,
    /// A `FlashLiquidator` contract owned by `executor` (see [`crate::deploy_flash_liquidator`]).
    /// When set, the contract is the executor named in reveals and awards; the wallet only
    /// pays gas and receives the profit. Settles go through `FlashLiquidator.liquidate`: a
    /// Uniswap V2 flash swap of the liquidator's factory finances the repay and premium,
    /// so no inventory of the debt asset is needed, and [`crate::Pricing::pools`] carries
    /// the factory's pools for every collateral. `None`: the wallet itself settles.
    pub flash_liquidator: Option<Address>,
}

impl SolverConfig {
    /// Structural checks that need no I/O.
    pub fn validate(&self) -> Result<(), SolverError> {
        if self.chains.is_empty() {
            return Err(SolverError::Config("no chains configured: a solver must serve at least one chain".into()));
        }
        if self.listen.is_empty() {
            return Err(SolverError::Config("no listen address: use /ip4/127.0.0.1/tcp/0 for a free port".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for chain in &self.chains {
            if !seen.insert(chain.chain_id) {
                return Err(SolverError::Config(format!("chain {} is configured twice", chain.chain_id)));
            }
        }
        Ok(())
    }
}

// Hand-written so that secrets never end up in logs.
impl std::fmt::Debug for SolverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SolverConfig")
            .field("peer_secret_key", &"<redacted>")
            .field("listen", &self.listen)
            .field("bootstrap", &self.bootstrap)
            .field("chains", &self.chains)
            .finish()
    }
}

impl std::fmt::Debug for ChainEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainEndpoint")
            .field("chain_id", &self.chain_id)
            .field("rpc_url", &self.rpc_url)
            .field("settlement", &self.settlement)
            .field("executor", &self.executor.address())
            .field("solver_registry", &self.solver_registry)
            .field("native_price_asset", &self.native_price_asset)
            .field("flash_liquidator", &self.flash_liquidator)
            .finish()
    }
}
