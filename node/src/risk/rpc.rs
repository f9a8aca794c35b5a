//! Batched reads: many `eth_call`s at one block in one JSON-RPC batch, so reading ten
//! thousand positions or confirming a crash's candidates costs a handful of round trips
//! rather than one per call. A call that reverts is an answer (`Err(Reverted)`); a batch
//! the RPC fails is an error for the caller to retry.

use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use alloy::transports::TransportError;

/// Calls per JSON-RPC batch: large enough to amortise the round trip, small enough for
/// common RPC limits (geth and reth accept 1000 by default; anvil more).
pub const BATCH_SIZE: usize = 500;

/// One call's outcome inside a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The call reverted (with its revert data, possibly empty).
    Reverted(Bytes),
    /// It returned data that does not decode as the function's return type.
    Malformed,
}

/// The RPC failed the batch (transport down, rate limited, bad response): retry later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BatchError(pub String);

impl BatchError {
    fn from_transport(error: TransportError) -> Self {
        Self(error.to_string())
    }
}

/// Performs `calls` (target, calldata) at `block`, in batches of [`BATCH_SIZE`].
pub async fn call_raw(
    provider: &DynProvider,
    calls: &[(Address, Bytes)],
    block: BlockId,
) -> Result<Vec<Result<Bytes, CallError>>, BatchError> {
    let mut results = Vec::with_capacity(calls.len());
    for chunk in calls.chunks(BATCH_SIZE) {
        let mut batch = alloy::rpc::client::BatchRequest::new(provider.client());
        let mut waiters = Vec::with_capacity(chunk.len());
        for (to, data) in chunk {
            let request = TransactionRequest::default().to(*to).input(data.clone().into());
            let waiter =
                batch.add_call::<_, Bytes>("eth_call", &(request, block)).map_err(BatchError::from_transport)?;
            waiters.push(waiter);
        }
        batch.send().await.map_err(BatchError::from_transport)?;
        for waiter in waiters {
            match waiter.await {
                Ok(data) => results.push(Ok(data)),
                Err(error) => match error.as_error_resp() {
                    // A revert is an answer; any other error response means the node could not serve it.
                    Some(payload) if payload.message.contains("revert") || payload.code == 3 => {
                        results.push(Err(CallError::Reverted(payload.as_revert_data().unwrap_or_default())))
                    }
                    _ => return Err(BatchError::from_transport(error)),
                },
            }
        }
    }
    Ok(results)
}

/// Typed form of [`call_raw`] for calls of one function.
pub async fn call_many<C: SolCall>(
    provider: &DynProvider,
    calls: impl IntoIterator<Item = (Address, C)>,
    block: BlockId,
) -> Result<Vec<Result<C::Return, CallError>>, BatchError> {
    let raw: Vec<(Address, Bytes)> = calls.into_iter().map(|(to, call)| (to, call.abi_encode().into())).collect();
    Ok(call_raw(provider, &raw, block)
        .await?
        .into_iter()
        .map(|result| result.and_then(|data| C::abi_decode_returns(&data).map_err(|_| CallError::Malformed)))
        .collect())
}
