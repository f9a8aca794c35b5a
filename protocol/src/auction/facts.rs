//! An intent's claims against the chain. The runtime reads [`IntentFacts`] (at the
//! intent's observed block, and the nonce at the head); this module alone decides
//! whether the claims hold, so every peer draws the same conclusion from the same chain.

use alloy::primitives::U256;

use crate::message::Intent;
use crate::rules::Rejection;

/// How far behind the head an intent's observed block may be. Honest intents are
/// opened within a block or two of the block they observed.
pub const MAX_OBSERVED_AGE_BLOCKS: u64 = 16;

/// What the chain says, read by the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentFacts {
    /// The block the reader considers the head.
    pub head_block: u64,
    /// `isLiquidatable(account)` at the observed block.
    pub liquidatable: bool,
    /// `maxRepay(account)` at the observed block.
    pub max_repay: U256,
    /// `price(collateralAsset)` at the observed block.
    pub price: U256,
    /// The settlement's `nonces(marketId, account)` at the head.
    pub current_nonce: U256,
}

/// Whether the observed block can be read at all from a head of `head_block`.
pub fn check_observed_block(intent: &Intent, head_block: u64) -> Result<(), Rejection> {
    if intent.observedBlock > head_block {
        return Err(Rejection::ObservedBlockAhead);
    }
    if head_block - intent.observedBlock > MAX_OBSERVED_AGE_BLOCKS {
        return Err(Rejection::ObservedBlockTooOld);
    }
    Ok(())
}

/// Every claim of `intent` against `facts`.
pub fn check_claims(intent: &Intent, facts: &IntentFacts) -> Result<(), Rejection> {
    check_observed_block(intent, facts.head_block)?;
    if intent.nonce != facts.current_nonce {
        return Err(Rejection::StaleNonce);
    }
    if !facts.liquidatable {
        return Err(Rejection::NotLiquidatable);
    }
    if intent.maxRepay != facts.max_repay || facts.max_repay.is_zero() {
        return Err(Rejection::MaxRepayMismatch);
    }
    if intent.observedPrice != facts.price {
        return Err(Rejection::PriceMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent() -> Intent {
        Intent {
            observedBlock: 100,
            nonce: U256::from(2),
            maxRepay: U256::from(500),
            observedPrice: U256::from(7),
            ..Default::default()
        }
    }

    fn facts() -> IntentFacts {
        IntentFacts {
            head_block: 101,
            liquidatable: true,
            max_repay: U256::from(500),
            price: U256::from(7),
            current_nonce: U256::from(2),
        }
    }

    #[test]
    fn true_claims_pass_and_each_false_one_is_named() {
        assert_eq!(check_claims(&intent(), &facts()), Ok(()));
        let with = |edit: fn(&mut IntentFacts)| {
            let mut facts = facts();
            edit(&mut facts);
            check_claims(&intent(), &facts)
        };
        assert_eq!(with(|f| f.liquidatable = false), Err(Rejection::NotLiquidatable));
        assert_eq!(with(|f| f.max_repay = U256::from(499)), Err(Rejection::MaxRepayMismatch));
        assert_eq!(with(|f| f.price = U256::from(8)), Err(Rejection::PriceMismatch));
        assert_eq!(with(|f| f.current_nonce = U256::from(3)), Err(Rejection::StaleNonce));
        assert_eq!(with(|f| f.head_block = 99), Err(Rejection::ObservedBlockAhead));
        assert_eq!(with(|f| f.head_block = 100 + MAX_OBSERVED_AGE_BLOCKS + 1), Err(Rejection::ObservedBlockTooOld));
    }
}
