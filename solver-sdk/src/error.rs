//! Errors a solver can hit while starting. Once running, failures are per auction and
//! surface as [`crate::AuctionOutcome`]s and logs, never as a stopped runtime.

use alloy::primitives::Address;

#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    #[error("invalid solver configuration: {0}")]
    Config(String),
    #[error("chain {chain_id}: invalid RPC URL {rpc_url:?}: {reason}")]
    RpcUrl { chain_id: u64, rpc_url: String, reason: String },
    #[error("chain {chain_id}: RPC {rpc_url} is unreachable or failing ({reason}); is the chain running?")]
    Rpc { chain_id: u64, rpc_url: String, reason: String },
    #[error("chain {chain_id}: RPC {rpc_url} serves chain {actual}; is the rpc_url for the right chain?")]
    ChainIdMismatch { chain_id: u64, rpc_url: String, actual: u64 },
    #[error(
        "settlement contract {settlement} on chain {chain_id} has no code: is the devnet manifest stale? \
         run `backstop-devnet up` and use the addresses it prints"
    )]
    NoSettlementCode { chain_id: u64, settlement: Address },
    #[error("chain {chain_id}: could not read the committee from settlement {settlement}: {reason}")]
    Committee { chain_id: u64, settlement: Address, reason: String },
    #[error("chain {chain_id}: could not bond our solver key on the SolverRegistry: {reason}")]
    Registration { chain_id: u64, reason: String },
    #[error("could not join the gossip network: {0}")]
    Gossip(#[from] backstop_net::NetError),
}
