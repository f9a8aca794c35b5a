//! The EIP-712 `Award` the committee signs and the settlement contract verifies.
//!
//! Domain: name "Backstop", version "1", the chain id and the settlement contract as
//! verifying contract, so a signature can never be replayed on another chain or
//! another deployment. Committee keys are secp256k1 because the EVM has no cheap ed25519.

use alloy::primitives::{Address, Signature, B256};
use alloy::sol;
use alloy::sol_types::{Eip712Domain, SolStruct};

sol! {
    /// Exclusive right to liquidate `account` in `marketId` at `nonce`, granted to
    /// `executor` until `deadline` (unix seconds).
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct Award {
        bytes32 intentId;
        bytes32 marketId;
        address account;
        uint256 nonce;
        address executor;
        uint256 repayAmount;
        uint256 premium;
        uint256 deadline;
    }
}

/// Why an award signature was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AwardError {
    #[error("award signature is malformed: {0}")]
    Malformed(String),
    #[error("award signature has a high s value (malleable); the contract would reject it")]
    HighS,
    #[error("award signature does not recover to a key: {0}")]
    Unrecoverable(String),
}

/// The EIP-712 domain of one settlement contract.
pub fn domain(chain_id: u64, settlement: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some("Backstop".into()),
        Some("1".into()),
        Some(alloy::primitives::U256::from(chain_id)),
        Some(settlement),
        None,
    )
}

impl Award {
    /// The digest committee members sign (`hashAward` on-chain).
    pub fn signing_hash(&self, chain_id: u64, settlement: Address) -> B256 {
        self.eip712_signing_hash(&domain(chain_id, settlement))
    }

    /// Recovers the committee member that produced `signature` (65 bytes, r‖s‖v).
    pub fn recover_signer(&self, chain_id: u64, settlement: Address, signature: &[u8]) -> Result<Address, AwardError> {
        let signature = Signature::try_from(signature).map_err(|error| AwardError::Malformed(error.to_string()))?;
        if signature.normalize_s().is_some() {
            return Err(AwardError::HighS);
        }
        signature
            .recover_address_from_prehash(&self.signing_hash(chain_id, settlement))
            .map_err(|error| AwardError::Unrecoverable(error.to_string()))
    }
}

/// Encodes a signature the way `settle` expects it: r ‖ s ‖ v with v ∈ {27, 28}.
pub fn signature_bytes(signature: &Signature) -> [u8; 65] {
    signature.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;
    use alloy::signers::{local::PrivateKeySigner, SignerSync};

    fn award() -> Award {
        Award {
            intentId: B256::repeat_byte(1),
            marketId: B256::repeat_byte(2),
            account: Address::repeat_byte(3),
            nonce: U256::from(0),
            executor: Address::repeat_byte(4),
            repayAmount: U256::from(1000),
            premium: U256::from(10),
            deadline: U256::from(1_700_000_000u64),
        }
    }

    #[test]
    fn type_string_matches_the_contract() {
        assert_eq!(
            award().eip712_type_hash(),
            alloy::primitives::keccak256(
                "Award(bytes32 intentId,bytes32 marketId,address account,uint256 nonce,address executor,uint256 repayAmount,uint256 premium,uint256 deadline)"
            )
        );
    }

    #[test]
    fn signature_recovers_to_signer_and_only_under_its_domain() {
        let signer = PrivateKeySigner::random();
        let settlement = Address::repeat_byte(9);
        let hash = award().signing_hash(31337, settlement);
        let signature = signature_bytes(&signer.sign_hash_sync(&hash).unwrap());
        assert!(signature[64] == 27 || signature[64] == 28);
        assert_eq!(award().recover_signer(31337, settlement, &signature), Ok(signer.address()));
        // Another chain or another settlement contract: a different (random) address.
        assert_ne!(award().recover_signer(31338, settlement, &signature), Ok(signer.address()));
        assert_ne!(award().recover_signer(31337, Address::repeat_byte(8), &signature), Ok(signer.address()));
        let mut other = award();
        other.premium = U256::from(11);
        assert_ne!(other.recover_signer(31337, settlement, &signature), Ok(signer.address()));
    }

    #[test]
    fn malformed_signature_is_an_error_not_a_panic() {
        assert!(award().recover_signer(1, Address::ZERO, &[0u8; 10]).is_err());
        assert!(award().recover_signer(1, Address::ZERO, &[0u8; 65]).is_err());
    }
}
