//! The node's batched reads against a real anvil chain: calls packed into deployless
//! `BatchReader` batches must answer exactly what one plain `eth_call` per call answers
//! (values, reverts with their data, calls to addresses without code), and a batch the
//! node will not run must fall back to plain calls with the same answers.

use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::sol_types::SolCall;
use backstop_bindings::{MarginEngine, TestToken};
use backstop_devnet::keys::EvmKey;
use backstop_devnet::market::{self, MarketParameters};
use backstop_devnet::LocalChain;
use backstop_node::risk::rpc::{call_each, call_raw, reader_fallbacks, CallError, READER_CALLS};

/// One anvil chain with the devnet's market deployed, and a plain HTTP provider to it.
async fn chain_with_market() -> (tempfile::TempDir, LocalChain, market::Deployment, DynProvider) {
    let dir = tempfile::tempdir().unwrap();
    let anvil = backstop_devnet::binaries::anvil().unwrap();
    let signer = EvmKey::random().signer;
    let chain = LocalChain::spawn(&anvil, 31_337, &dir.path().join("anvil.log"), &[signer]).unwrap();
    let parameters = MarketParameters::default();
    let deployment = market::deploy(&chain, &parameters, vec![Address::repeat_byte(0xa7)], 1, &[]).await.unwrap();
    let provider = ProviderBuilder::new().connect_http(chain.rpc_url.parse().unwrap()).erased();
    (dir, chain, deployment, provider)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_reads_answer_what_plain_calls_answer() {
    let (_dir, _chain, deployment, provider) = chain_with_market().await;
    let at = BlockId::number(provider.get_block_number().await.unwrap());

    // More calls than three readers hold, of every kind an answer can be.
    let token = deployment.collaterals[0].token;
    let mut calls: Vec<(Address, Bytes)> = Vec::new();
    for index in 0..READER_CALLS * 2 + 57 {
        let someone = Address::with_last_byte((index % 250) as u8);
        let call = match index % 5 {
            0 => (deployment.engine, MarginEngine::debtOfCall { account: someone }.abi_encode().into()),
            1 => (token, TestToken::balanceOfCall(deployment.admin).abi_encode().into()),
            2 => (deployment.engine, MarginEngine::accountHealthCall { account: someone }.abi_encode().into()),
            // No such function: the engine reverts without data.
            3 => (deployment.engine, Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef])),
            _ => (Address::repeat_byte(0x42), MarginEngine::debtOfCall { account: someone }.abi_encode().into()),
        };
        calls.push(call);
    }
    let batched = call_raw(&provider, &calls, at).await.unwrap();
    let plain = call_each(&provider, &calls, at).await.unwrap();
    assert_eq!(batched.len(), calls.len(), "one answer per call");
    assert_eq!(batched, plain, "batched reads answer what plain eth_calls answer");
    assert_eq!(reader_fallbacks(), 0, "anvil ran every reader");
    let values = batched.iter().filter(|answer| matches!(answer, Ok(data) if data.len() >= 32)).count();
    let reverts = batched.iter().filter(|answer| matches!(answer, Err(CallError::Reverted(_)))).count();
    let empty = batched.iter().filter(|answer| matches!(answer, Ok(data) if data.is_empty())).count();
    assert!(values > 0 && reverts > 0 && empty > 0, "{values} values, {reverts} reverts, {empty} empty answers");

    // One call too large for any reader's initcode (EIP-3860): read plainly, same answer.
    let mut oversized = MarginEngine::debtOfCall { account: deployment.admin }.abi_encode();
    oversized.resize(60_000, 0);
    let calls = vec![(deployment.engine, Bytes::from(oversized))];
    let batched = call_raw(&provider, &calls, at).await.unwrap();
    assert_eq!(reader_fallbacks(), 1, "the oversized batch fell back to a plain call");
    assert_eq!(batched, call_each(&provider, &calls, at).await.unwrap());
}

/// Concurrent reads through one `Coalescer` (the way a crash's intent checks arrive)
/// share batches, per block, and each gets exactly the answers of its own calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_share_batches_and_get_their_own_answers() {
    let (_dir, _chain, deployment, provider) = chain_with_market().await;
    let head = provider.get_block_number().await.unwrap();
    assert!(head >= 1, "the deployment mined blocks");
    let token = deployment.collaterals[0].token;

    // 64 requests of 1 to 4 calls each, alternating between two blocks: the admin's token
    // balance differs between them for some requests, and some calls revert.
    let request = |index: usize| -> (BlockId, Vec<(Address, Bytes)>) {
        let block = BlockId::number(if index & 1 == 0 { head } else { 1 });
        let calls = (0..=index % 4)
            .map(|call| match (index + call) % 3 {
                0 => (token, TestToken::balanceOfCall(deployment.admin).abi_encode().into()),
                1 => (deployment.engine, Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef])),
                _ => (
                    deployment.engine,
                    MarginEngine::debtOfCall { account: Address::with_last_byte(index as u8) }.abi_encode().into(),
                ),
            })
            .collect();
        (block, calls)
    };
    let reads = backstop_bindings::batch::Coalescer::new(provider.clone());
    let answers = futures::future::join_all((0..64).map(|index| {
        let reads = reads.clone();
        let (block, calls) = request(index);
        async move { reads.call_raw(calls, block).await.unwrap() }
    }))
    .await;
    for (index, answer) in answers.into_iter().enumerate() {
        let (block, calls) = request(index);
        assert_eq!(answer, call_each(&provider, &calls, block).await.unwrap(), "request {index}");
    }
    let (requests, flushes) = reads.stats();
    assert_eq!(requests, 64);
    assert!(flushes < requests / 2, "{flushes} batched reads for {requests} requests");
}
