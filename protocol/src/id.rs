//! Deterministic ids and commitments, computed exactly as the contracts do.

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::sol_types::SolValue;

/// `keccak256(abi.encode(chainId, settlement, marketId, account, nonce))`.
///
/// Every node that sees the account go under derives the same id, and the settlement
/// contract recomputes it in `settle`, so an award can only ever name one auction.
pub fn intent_id(chain_id: u64, settlement: Address, market_id: B256, account: Address, nonce: U256) -> B256 {
    keccak256((U256::from(chain_id), settlement, market_id, account, nonce).abi_encode_params())
}

/// `keccak256(abi.encode(adapter))`, the settlement contract's `marketIdOf`.
pub fn market_id(adapter: Address) -> B256 {
    keccak256(adapter.abi_encode())
}

/// The sealed-bid commitment:
/// `keccak256(abi.encode(intentId, solver, executor, repay, premium, salt))`, where
/// `solver` is the bidder's ed25519 public key.
pub fn commitment(
    intent_id: B256,
    solver: B256,
    executor: Address,
    repay_amount: U256,
    premium: U256,
    salt: B256,
) -> B256 {
    keccak256((intent_id, solver, executor, repay_amount, premium, salt).abi_encode_params())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, b256};

    #[test]
    fn intent_id_matches_solidity_abi_encode_layout() {
        let settlement = address!("00000000000000000000000000000000000000aa");
        let account = address!("00000000000000000000000000000000000000bb");
        let market = b256!("0000000000000000000000000000000000000000000000000000000000000001");
        let mut manual = Vec::new();
        manual.extend_from_slice(&U256::from(31337u64).to_be_bytes::<32>());
        manual.extend_from_slice(B256::left_padding_from(settlement.as_slice()).as_slice());
        manual.extend_from_slice(market.as_slice());
        manual.extend_from_slice(B256::left_padding_from(account.as_slice()).as_slice());
        manual.extend_from_slice(&U256::from(7u64).to_be_bytes::<32>());
        assert_eq!(intent_id(31337, settlement, market, account, U256::from(7u64)), keccak256(manual));
    }

    #[test]
    fn intent_id_separates_every_field() {
        let base = intent_id(1, Address::repeat_byte(1), B256::repeat_byte(2), Address::repeat_byte(3), U256::from(4));
        assert_ne!(
            base,
            intent_id(2, Address::repeat_byte(1), B256::repeat_byte(2), Address::repeat_byte(3), U256::from(4))
        );
        assert_ne!(
            base,
            intent_id(1, Address::repeat_byte(9), B256::repeat_byte(2), Address::repeat_byte(3), U256::from(4))
        );
        assert_ne!(
            base,
            intent_id(1, Address::repeat_byte(1), B256::repeat_byte(9), Address::repeat_byte(3), U256::from(4))
        );
        assert_ne!(
            base,
            intent_id(1, Address::repeat_byte(1), B256::repeat_byte(2), Address::repeat_byte(9), U256::from(4))
        );
        assert_ne!(
            base,
            intent_id(1, Address::repeat_byte(1), B256::repeat_byte(2), Address::repeat_byte(3), U256::from(5))
        );
    }

    #[test]
    fn commitment_binds_amounts_and_salt() {
        let c = |premium: u64, salt: u8| {
            commitment(
                B256::ZERO,
                B256::repeat_byte(1),
                Address::ZERO,
                U256::from(10),
                U256::from(premium),
                B256::repeat_byte(salt),
            )
        };
        assert_eq!(c(5, 1), c(5, 1));
        assert_ne!(c(5, 1), c(6, 1));
        assert_ne!(c(5, 1), c(5, 2));
    }
}
