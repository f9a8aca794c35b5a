//! Errors a solver can hit while starting. Once running, failures are per auction and
//! surface as [`crate::AuctionOutcome`]s and logs, never as a stopped runtime.

use alloy::primitives::Address;

/// Why [`crate::SolverClient::start`] failed. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// The configuration is inconsistent (no chain, no listen address, a chain twice).
    #[error("invalid solver configuration: {0}")]
    Config(String),
    /// A chain's `rpc_url` does not parse as a URL.
    #[error("chain {chain_id}: invalid RPC URL {rpc_url:?}: {reason}")]
    RpcUrl {
        /// The configured chain.
        chain_id: u64,
        /// The URL as configured.
        rpc_url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A chain's RPC does not answer.
    #[error("chain {chain_id}: RPC {rpc_url} is unreachable or failing ({reason}); is the chain running?")]
    Rpc {
        /// The configured chain.
        chain_id: u64,
        /// The endpoint that failed.
        rpc_url: String,
        /// The transport error.
        reason: String,
    },
    /// A chain's RPC serves another chain id than configured.
    #[error("chain {chain_id}: RPC {rpc_url} serves chain {actual}; is the rpc_url for the right chain?")]
    ChainIdMismatch {
        /// The configured chain.
        chain_id: u64,
        /// The endpoint.
        rpc_url: String,
        /// The chain id it serves.
        actual: u64,
    },
    /// The configured settlement contract has no code.
    #[error(
        "settlement contract {settlement} on chain {chain_id} has no code: is the devnet manifest stale? \
         run `backstop-devnet up` and use the addresses it prints"
    )]
    NoSettlementCode {
        /// The configured chain.
        chain_id: u64,
        /// The configured settlement address.
        settlement: Address,
    },
    /// The committee (attesters, threshold) or market registry could not be read.
    #[error("chain {chain_id}: could not read the committee from settlement {settlement}: {reason}")]
    Committee {
        /// The configured chain.
        chain_id: u64,
        /// The settlement contract read.
        settlement: Address,
        /// The failing read.
        reason: String,
    },
    /// Bonding our key on the chain's `SolverRegistry` failed.
    #[error("chain {chain_id}: could not bond our solver key on the SolverRegistry: {reason}")]
    Registration {
        /// The configured chain.
        chain_id: u64,
        /// What failed (often: the executor lacks the bond in native coin).
        reason: String,
    },
    /// The configured `flash_liquidator` is not a `FlashLiquidator` our wallet can use.
    #[error(
        "chain {chain_id}: flash liquidator {liquidator} cannot be used: {reason}; deploy one owned by the \
         executor wallet with `deploy_flash_liquidator` (or the flash_swap_bot example)"
    )]
    FlashLiquidator {
        /// The configured chain.
        chain_id: u64,
        /// The configured contract.
        liquidator: Address,
        /// What is wrong with it.
        reason: String,
    },
    /// The libp2p swarm could not start (e.g. the listen address is taken).
    #[error("could not join the gossip network: {0}")]
    Gossip(#[from] backstop_net::NetError),
}
