//! Batched reads: many `eth_call`s at one block in a few round trips rather than one per
//! call, for nodes and solvers alike. Calls are packed into [`BatchReader`] batches (a
//! deployless multicall: one `eth_call` of its creation code runs a few hundred calls
//! inside one EVM execution), and those are sent in JSON-RPC batches. A batch the RPC
//! node would not run (a target that burns the whole gas allowance, an RPC that refuses
//! creation calls or caps their size) is retried as one plain `eth_call` per call, in
//! JSON-RPC batches. A call that reverts is an answer (`Err(Reverted)`); a batch the RPC
//! fails is an error for the caller to retry.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::BatchReader;
use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolConstructor, SolError};
use alloy::transports::TransportError;

/// Calls per JSON-RPC batch: large enough to amortise the round trip, small enough for
/// common RPC limits (geth and reth accept 1000 by default; anvil more).
pub const BATCH_SIZE: usize = 500;

/// Calls per [`BatchReader`] batch at most.
pub const READER_CALLS: usize = 200;

/// ABI-encoded bytes of the calls per [`BatchReader`] batch at most: EIP-3860 caps
/// initcode at 49,152 bytes, and the reader's own code comes on top.
const READER_ENCODED_BYTES: usize = 44_000;

/// A call's share of the constructor's arguments: its tuple's offset, target, data offset
/// and length, and the data padded to words.
fn encoded_size(data: &[u8]) -> usize {
    4 * 32 + data.len().div_ceil(32) * 32
}

/// Gas each call inside a [`BatchReader`] batch may use: a view of an honest market costs
/// well under 200k; a target that burns it all fails alone.
pub const READER_GAS_PER_CALL: u64 = 1_000_000;

/// Return data a call inside a [`BatchReader`] batch may hand back; longer is a failure.
pub const READER_MAX_RETURN_BYTES: u64 = 16_384;

/// [`BatchReader`] batches per JSON-RPC batch.
const READERS_PER_REQUEST: usize = 8;

static READER_FALLBACKS: AtomicU64 = AtomicU64::new(0);

/// [`BatchReader`] batches this process has had to read one call at a time (the RPC
/// node would not run them): a figure for operators and tests.
pub fn reader_fallbacks() -> u64 {
    READER_FALLBACKS.load(Ordering::Relaxed)
}

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

/// Performs `calls` (target, calldata) at `block`: packed into [`BatchReader`] batches,
/// falling back to one `eth_call` per call for a batch the node would not run.
pub async fn call_raw(
    provider: &DynProvider,
    calls: &[(Address, Bytes)],
    block: BlockId,
) -> Result<Vec<Result<Bytes, CallError>>, BatchError> {
    let batches = reader_batches(calls);
    let mut results = Vec::with_capacity(calls.len());
    for group in batches.chunks(READERS_PER_REQUEST) {
        let mut request = alloy::rpc::client::BatchRequest::new(provider.client());
        let mut waiters = Vec::with_capacity(group.len());
        for batch in group {
            let reader = TransactionRequest::default().input(reader_initcode(batch).into());
            waiters
                .push(request.add_call::<_, Bytes>("eth_call", &(reader, block)).map_err(BatchError::from_transport)?);
        }
        request.send().await.map_err(BatchError::from_transport)?;
        for (batch, waiter) in group.iter().zip(waiters) {
            let answer = waiter.await;
            match answer.as_ref().err().and_then(|error| reader_results(error, batch.len())) {
                Some(answers) => results.extend(answers),
                None => {
                    READER_FALLBACKS.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        target: "backstop_bindings::batch",
                        calls = batch.len(),
                        answer = ?answer.err(),
                        "the node did not run a batch reader; reading its calls one by one"
                    );
                    results.extend(call_each(provider, batch, block).await?);
                }
            }
        }
    }
    Ok(results)
}

/// Splits `calls` into [`BatchReader`] batches by count and by encoded size.
fn reader_batches(calls: &[(Address, Bytes)]) -> Vec<&[(Address, Bytes)]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, (_, data)) in calls.iter().enumerate() {
        let size = encoded_size(data);
        let full = index - start >= READER_CALLS || (index > start && bytes + size > READER_ENCODED_BYTES);
        if full {
            batches.push(&calls[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < calls.len() {
        batches.push(&calls[start..]);
    }
    batches
}

fn reader_initcode(batch: &[(Address, Bytes)]) -> Vec<u8> {
    let calls = batch.iter().map(|(target, data)| BatchReader::Call { target: *target, data: data.clone() }).collect();
    let arguments = BatchReader::constructorCall {
        calls,
        gasPerCall: U256::from(READER_GAS_PER_CALL),
        maxReturnBytes: U256::from(READER_MAX_RETURN_BYTES),
    }
    .abi_encode();
    let mut initcode = BatchReader::BYTECODE.to_vec();
    initcode.extend_from_slice(&arguments);
    initcode
}

/// The results a reader reverted with, if that is what the error is and they are one per call.
fn reader_results(error: &TransportError, calls: usize) -> Option<Vec<Result<Bytes, CallError>>> {
    let data = error.as_error_resp()?.as_revert_data()?;
    let BatchReader::BatchResults { results } = BatchReader::BatchResults::abi_decode(&data).ok()?;
    (results.len() == calls).then(|| {
        results
            .into_iter()
            .map(
                |result| {
                    if result.success {
                        Ok(result.returnData)
                    } else {
                        Err(CallError::Reverted(result.returnData))
                    }
                },
            )
            .collect()
    })
}

/// One plain `eth_call` per call, in JSON-RPC batches of [`BATCH_SIZE`]: the fallback of
/// [`call_raw`], and the way most bots read.
pub async fn call_each(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(sizes: &[usize]) -> Vec<(Address, Bytes)> {
        sizes.iter().map(|size| (Address::ZERO, Bytes::from(vec![0u8; *size]))).collect()
    }

    #[test]
    fn batches_are_cut_by_count() {
        let calls = calls(&vec![36; READER_CALLS * 2 + 1]);
        let lengths: Vec<usize> = reader_batches(&calls).iter().map(|batch| batch.len()).collect();
        assert_eq!(lengths, vec![READER_CALLS, READER_CALLS, 1]);
    }

    #[test]
    fn batches_are_cut_by_encoded_size() {
        let calls = calls(&[20_000, 20_000, 20_000, 50_000, 5]);
        let lengths: Vec<usize> = reader_batches(&calls).iter().map(|batch| batch.len()).collect();
        // Two fit; the third would pass the budget; an oversized call goes alone.
        assert_eq!(lengths, vec![2, 1, 1, 1]);
        assert!(reader_batches(&[]).is_empty());
    }

    #[test]
    fn initcode_stays_under_the_eip_3860_limit() {
        // Any mix of call sizes: every batch but a lone oversized call fits.
        for size in [0, 4, 36, 68, 100, 132, 260, 1_000, 5_000] {
            let many = calls(&vec![size; READER_CALLS * 3]);
            for batch in reader_batches(&many) {
                let initcode = reader_initcode(batch).len();
                assert!(initcode < 49_152, "{} calls of {size} bytes: {initcode} bytes of initcode", batch.len());
            }
        }
    }
}
