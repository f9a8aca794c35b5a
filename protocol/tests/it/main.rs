//! Property tests for the wire: every message round-trips through a sealed envelope,
//! and no byte string, however hostile, makes decoding panic.

use backstop_protocol::envelope::{peer_key, Envelope, MAX_ENVELOPE_LEN};
use backstop_protocol::message::{AwardVote, BidCommit, BidReveal, Intent, Kind, Message, Outcome};
use backstop_protocol::winner::{rank_bids, RevealedBid};
use backstop_protocol::{Address, Award, B256, U256};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

mod auction;
mod fuzz_smoke;

fn any_b256() -> impl Strategy<Value = B256> {
    any::<[u8; 32]>().prop_map(B256::from)
}

fn any_address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}

fn any_u256() -> impl Strategy<Value = U256> {
    any::<[u8; 32]>().prop_map(U256::from_be_bytes)
}

fn any_intent() -> impl Strategy<Value = Intent> {
    (
        (any::<u64>(), any_address(), any_b256(), any_address(), any_u256(), any_address(), any_address()),
        (any_u256(), any::<u64>(), any_u256(), any::<u64>(), any::<u32>(), any::<u32>(), any_u256()),
    )
        .prop_map(
            |(
                (chain, settlement, market, account, nonce, debt, collateral),
                (max_repay, block, price, open, commit, reveal, reserve),
            )| Intent {
                chainId: chain,
                settlement,
                marketId: market,
                account,
                nonce,
                debtAsset: debt,
                collateralAsset: collateral,
                maxRepay: max_repay,
                observedBlock: block,
                observedPrice: price,
                openTimeMs: open,
                commitMs: commit,
                revealMs: reveal,
                reservePremium: reserve,
            },
        )
}

fn any_award() -> impl Strategy<Value = Award> {
    (any_b256(), any_b256(), any_address(), any_u256(), any_address(), any_u256(), any_u256(), any_u256()).prop_map(
        |(intent, market, account, nonce, executor, repay, premium, deadline)| Award {
            intentId: intent,
            marketId: market,
            account,
            nonce,
            executor,
            repayAmount: repay,
            premium,
            deadline,
        },
    )
}

fn any_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        any_intent().prop_map(Message::Intent),
        (any::<u64>(), any_b256(), any_b256()).prop_map(|(chain, intent, commitment)| Message::Commit(BidCommit {
            chainId: chain,
            intentId: intent,
            commitment
        })),
        (any::<u64>(), any_b256(), any_address(), any_u256(), any_u256(), any_b256()).prop_map(
            |(chain, intent, executor, repay, premium, salt)| Message::Reveal(BidReveal {
                chainId: chain,
                intentId: intent,
                executor,
                repayAmount: repay,
                premium,
                salt
            })
        ),
        (any::<u64>(), any_address(), any_award(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<u8>()).prop_map(
            |(chain, settlement, award, r, s, v)| {
                let mut signature = r.to_vec();
                signature.extend_from_slice(&s);
                signature.push(v);
                Message::Vote(AwardVote { chainId: chain, settlement, award, signature: signature.into() })
            }
        ),
        (any::<u64>(), any_b256(), any::<u8>(), any_b256()).prop_map(|(chain, intent, status, tx)| Message::Outcome(
            Outcome { chainId: chain, intentId: intent, status, txHash: tx }
        )),
    ]
}

proptest! {
    #[test]
    fn every_message_round_trips_through_an_envelope(message in any_message(), seed in any::<[u8; 32]>()) {
        let key = SigningKey::from_bytes(&seed);
        let envelope = Envelope::seal(&key, &message);
        prop_assert!(envelope.as_bytes().len() <= MAX_ENVELOPE_LEN);
        let opened = Envelope::open(envelope.as_bytes()).expect("a sealed envelope opens");
        prop_assert_eq!(opened.signer, peer_key(&key));
        prop_assert_eq!(opened.message, message);
    }

    #[test]
    fn opening_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let _ = Envelope::open(&bytes);
    }

    #[test]
    fn decoding_arbitrary_payloads_never_panics(kind in 1u8..=5, bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let kind = Kind::from_byte(kind).unwrap();
        if let Ok(message) = Message::decode_payload(kind, &bytes) {
            // Whatever decodes is canonical: it re-encodes to exactly the input.
            prop_assert_eq!(message.encode_payload(), bytes);
        }
    }

    #[test]
    fn a_valid_signature_over_mutated_payload_never_opens(message in any_message(), seed in any::<[u8; 32]>(), index in any::<prop::sample::Index>()) {
        let key = SigningKey::from_bytes(&seed);
        let mut bytes = Envelope::seal(&key, &message).0;
        let payload_start = backstop_protocol::envelope::HEADER_LEN;
        let at = payload_start + index.index(bytes.len() - payload_start);
        bytes[at] ^= 0x80;
        prop_assert!(Envelope::open(&bytes).is_err());
    }

    #[test]
    fn winner_is_independent_of_input_order(premiums in proptest::collection::vec(0u64..20, 1..12), reserve in 0u64..10) {
        let bids: Vec<RevealedBid> = premiums.iter().enumerate().map(|(index, premium)| RevealedBid {
            solver: B256::with_last_byte(index as u8),
            commitment: B256::with_last_byte(index as u8 ^ 0x55),
            executor: Address::with_last_byte(index as u8),
            repay_amount: U256::from(10),
            premium: U256::from(*premium),
        }).collect();
        let mut reversed = bids.clone();
        reversed.reverse();
        let forward = rank_bids(&bids, U256::from(reserve), U256::from(10));
        prop_assert_eq!(&forward, &rank_bids(&reversed, U256::from(reserve), U256::from(10)));
        let best = premiums.iter().copied().filter(|premium| *premium >= reserve).max();
        prop_assert_eq!(forward.first().map(|bid| bid.premium.to::<u64>()), best);
        prop_assert!(forward.iter().all(|bid| bid.premium >= U256::from(reserve)));
    }
}
