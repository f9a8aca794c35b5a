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
#[derive(Debug, Clone, thiserror::Error)]
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
    Ok(decode_all::<C>(call_raw(provider, &raw, block).await?))
}

/// Read requests waiting for a flush, across every caller of one [`Coalescer`], at most
/// (in calls); beyond it a request fails at once rather than queue behind a dead RPC.
const MAX_WAITING_CALLS: usize = 32_768;
/// Flushes in flight at once per [`Coalescer`]: while they run, new requests gather.
const MAX_FLUSHES: usize = 4;
/// Calls one flush takes at most (a request larger than this goes alone).
const MAX_FLUSH_CALLS: usize = READER_CALLS * READERS_PER_REQUEST;
/// Longest one flush may wait for the RPC; its requests fail past it.
const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

type Answers = Result<Vec<Result<Bytes, CallError>>, BatchError>;

/// One caller's request waiting in a [`Coalescer`].
struct Request {
    block: BlockId,
    calls: Vec<(Address, Bytes)>,
    reply: tokio::sync::oneshot::Sender<Answers>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Request>,
    waiting_calls: usize,
    flushing: usize,
}

impl Queue {
    /// The next flush's requests (see [`take_requests`]), keeping the count of waiting
    /// calls true: recounted, since abandoned requests leave the queue as well.
    fn take(&mut self, max_calls: usize) -> Vec<Request> {
        let taken = take_requests(&mut self.waiting, max_calls);
        self.waiting_calls = self.waiting.iter().map(|request| request.calls.len()).sum();
        taken
    }
}

struct Shared {
    provider: DynProvider,
    queue: std::sync::Mutex<Queue>,
    flushes: AtomicU64,
    requests: AtomicU64,
}

/// Gathers the reads of many concurrent tasks into shared [`call_raw`] batches. A crash
/// brings hundreds of intents a second, each checked with a handful of calls; read one
/// by one they were a few `eth_call`s each, and the RPC (anvil on the devnet, a rate
/// limited provider in production) answered all of them late. Here a request goes out at
/// once while fewer than four flushes are in flight; otherwise it waits for the next
/// flush, which takes every request waiting (grouped by block) in one batch per block.
/// Under light load a read costs what it did; under a burst, the RPC sees a few large
/// calls instead of many small ones.
///
/// Calls of different requests run in one reader, each a STATICCALL with its own gas
/// allowance: one request's calls cannot change what another's read, and a target that
/// fails the reader only sends its batch to the plain-call fallback.
#[derive(Clone)]
pub struct Coalescer {
    shared: std::sync::Arc<Shared>,
}

impl std::fmt::Debug for Coalescer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("requests", &self.shared.requests.load(Ordering::Relaxed))
            .field("flushes", &self.shared.flushes.load(Ordering::Relaxed))
            .finish()
    }
}

impl Coalescer {
    /// Reads through `provider`. Must be used inside a tokio runtime (flushes are tasks).
    pub fn new(provider: DynProvider) -> Self {
        Self {
            shared: std::sync::Arc::new(Shared {
                provider,
                queue: std::sync::Mutex::new(Queue::default()),
                flushes: AtomicU64::new(0),
                requests: AtomicU64::new(0),
            }),
        }
    }

    /// The provider reads go through.
    pub fn provider(&self) -> &DynProvider {
        &self.shared.provider
    }

    /// Requests served so far, and the batched reads (per block) that served them.
    pub fn stats(&self) -> (u64, u64) {
        (self.shared.requests.load(Ordering::Relaxed), self.shared.flushes.load(Ordering::Relaxed))
    }

    /// [`call_raw`], sharing the round trip with other requests waiting meanwhile. A
    /// caller that stops waiting (a timeout) loses nothing but its answer.
    pub async fn call_raw(&self, calls: Vec<(Address, Bytes)>, block: BlockId) -> Answers {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let start_flush = {
            let mut queue = self.shared.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if queue.waiting_calls.saturating_add(calls.len()) > MAX_WAITING_CALLS {
                return Err(BatchError(format!(
                    "{} calls already wait for the RPC; it is not keeping up",
                    queue.waiting_calls
                )));
            }
            queue.waiting_calls += calls.len();
            queue.waiting.push(Request { block, calls, reply });
            let start = queue.flushing < MAX_FLUSHES;
            if start {
                queue.flushing += 1;
            }
            start
        };
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        if start_flush {
            tokio::spawn(flush(self.shared.clone()));
        }
        answer.await.map_err(|_| BatchError("the batched read was dropped".into()))?
    }

    /// Typed form of [`Coalescer::call_raw`] for calls of one function.
    pub async fn call_many<C: SolCall>(
        &self,
        calls: impl IntoIterator<Item = (Address, C)>,
        block: BlockId,
    ) -> Result<Vec<Result<C::Return, CallError>>, BatchError> {
        let raw: Vec<(Address, Bytes)> = calls.into_iter().map(|(to, call)| (to, call.abi_encode().into())).collect();
        Ok(decode_all::<C>(self.call_raw(raw, block).await?))
    }
}

fn decode_all<C: SolCall>(answers: Vec<Result<Bytes, CallError>>) -> Vec<Result<C::Return, CallError>> {
    answers
        .into_iter()
        .map(|result| result.and_then(|data| C::abi_decode_returns(&data).map_err(|_| CallError::Malformed)))
        .collect()
}

/// Gives the flush's slot back however the flush ends (a panic included).
struct FlushSlot(std::sync::Arc<Shared>);

impl Drop for FlushSlot {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        queue.flushing = queue.flushing.saturating_sub(1);
    }
}

/// Serves waiting requests until none is left, then frees its slot.
async fn flush(shared: std::sync::Arc<Shared>) {
    let _slot = FlushSlot(shared.clone());
    loop {
        let taken = shared.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take(MAX_FLUSH_CALLS);
        if taken.is_empty() {
            return;
        }
        let groups = group_by_block(taken);
        shared.flushes.fetch_add(groups.len() as u64, Ordering::Relaxed);
        let reads = groups.into_iter().map(|(block, calls, requests)| {
            let provider = &shared.provider;
            async move {
                let answers = match tokio::time::timeout(FLUSH_TIMEOUT, call_raw(provider, &calls, block)).await {
                    Ok(answers) => answers,
                    Err(_) => Err(BatchError(format!("the RPC did not answer within {FLUSH_TIMEOUT:?}"))),
                };
                reply_all(requests, answers);
            }
        });
        futures::future::join_all(reads).await;
    }
}

/// Takes waiting requests in arrival order (dropping those nobody waits for any more)
/// until `max_calls` is reached; the first is always taken.
fn take_requests(waiting: &mut Vec<Request>, max_calls: usize) -> Vec<Request> {
    waiting.retain(|request| !request.reply.is_closed());
    let mut calls = 0;
    let mut count = 0;
    for request in waiting.iter() {
        if count > 0 && calls + request.calls.len() > max_calls {
            break;
        }
        calls += request.calls.len();
        count += 1;
    }
    waiting.drain(..count).collect()
}

/// Requests grouped by block: each group's calls in one list, and each request's share.
#[allow(clippy::type_complexity)]
fn group_by_block(requests: Vec<Request>) -> Vec<(BlockId, Vec<(Address, Bytes)>, Vec<(usize, Request)>)> {
    let mut groups: Vec<(BlockId, Vec<(Address, Bytes)>, Vec<(usize, Request)>)> = Vec::new();
    for mut request in requests {
        let at = match groups.iter().position(|(block, _, _)| *block == request.block) {
            Some(at) => at,
            None => {
                groups.push((request.block, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        let (_, calls, shares) = &mut groups[at];
        let count = request.calls.len();
        calls.append(&mut request.calls);
        shares.push((count, request));
    }
    groups
}

/// Hands each request its slice of the group's answers (or the group's error).
fn reply_all(requests: Vec<(usize, Request)>, answers: Answers) {
    match answers {
        Ok(answers) => {
            let mut answers = answers.into_iter();
            for (count, request) in requests {
                let mine: Vec<_> = answers.by_ref().take(count).collect();
                let reply = if mine.len() == count {
                    Ok(mine)
                } else {
                    Err(BatchError(format!("{} answers for {count} calls", mine.len())))
                };
                let _ = request.reply.send(reply);
            }
        }
        Err(error) => {
            for (_, request) in requests {
                let _ = request.reply.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(sizes: &[usize]) -> Vec<(Address, Bytes)> {
        sizes.iter().map(|size| (Address::ZERO, Bytes::from(vec![0u8; *size]))).collect()
    }

    fn request(block: u64, calls: usize) -> (Request, tokio::sync::oneshot::Receiver<Answers>) {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let calls = (0..calls).map(|index| (Address::with_last_byte(index as u8), Bytes::new())).collect();
        (Request { block: BlockId::number(block), calls, reply }, answer)
    }

    #[test]
    fn a_flush_takes_requests_in_order_up_to_its_budget_and_skips_abandoned_ones() {
        let (first, _a) = request(1, 3);
        let (abandoned, dropped) = request(1, 50);
        drop(dropped);
        let (second, _b) = request(2, 4);
        let (third, _c) = request(1, 4);
        let mut waiting = vec![first, abandoned, second, third];
        let taken = take_requests(&mut waiting, 8);
        assert_eq!(taken.iter().map(|request| request.calls.len()).collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(waiting.len(), 1, "the third waits for the next flush");
        // A request above the budget still goes, alone.
        let (big, _d) = request(1, 20);
        let mut waiting = vec![big];
        assert_eq!(take_requests(&mut waiting, 8).len(), 1);
    }

    #[test]
    fn abandoned_requests_leave_the_count_of_waiting_calls() {
        // Counted as they arrive; a request whose caller stopped waiting must not keep its
        // calls counted, or the queue would one day refuse every read as "not keeping up".
        let (kept, _answer) = request(1, 3);
        let (abandoned, dropped) = request(1, 5);
        let (later, _later_answer) = request(1, 4);
        let mut queue = Queue { waiting: vec![kept, abandoned, later], waiting_calls: 12, flushing: 1 };
        drop(dropped);
        let taken = queue.take(3);
        assert_eq!(taken.len(), 1);
        assert_eq!(queue.waiting_calls, 4, "only the request still waiting counts");
        assert!(queue.take(100).len() == 1 && queue.waiting_calls == 0);
    }

    #[test]
    fn answers_go_back_to_the_request_that_asked_by_block() {
        let (a, mut answer_a) = request(7, 2);
        let (b, mut answer_b) = request(8, 1);
        let (c, mut answer_c) = request(7, 3);
        let groups = group_by_block(vec![a, b, c]);
        assert_eq!(groups.len(), 2, "one read per block");
        for (block, calls, shares) in groups {
            // Answer each call with its position in the group's batch.
            let answers = (0..calls.len()).map(|at| Ok(Bytes::from(vec![at as u8]))).collect();
            assert_eq!(calls.len(), if block == BlockId::number(7) { 5 } else { 1 });
            reply_all(shares, Ok(answers));
        }
        let bytes =
            |answers: Answers| -> Vec<u8> { answers.unwrap().into_iter().map(|data| data.unwrap()[0]).collect() };
        assert_eq!(bytes(answer_a.try_recv().unwrap()), vec![0, 1]);
        assert_eq!(bytes(answer_b.try_recv().unwrap()), vec![0]);
        assert_eq!(bytes(answer_c.try_recv().unwrap()), vec![2, 3, 4]);

        // A short answer is an error for whoever it does not cover, never a wrong slice.
        let (d, mut answer_d) = request(9, 2);
        let (e, mut answer_e) = request(9, 2);
        let (_, _, shares) = group_by_block(vec![d, e]).pop().unwrap();
        reply_all(shares, Ok(vec![Ok(Bytes::new()); 3]));
        assert!(answer_d.try_recv().unwrap().is_ok());
        assert!(answer_e.try_recv().unwrap().is_err());
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
