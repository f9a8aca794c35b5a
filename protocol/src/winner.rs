//! Pure winner selection, shared by nodes, solvers and tests so all agree bit for bit.
//!
//! Highest premium wins; a premium below the market's reserve is not a bid (no zero-bid
//! auctions, the Black Thursday failure); a repay of zero or above the intent's max repay
//! is not a bid; ties go to the lowest `keccak256(commitment)`. Solvers with a record of
//! no-shows are ranked after every other bidder; each solver key and each executor
//! counts once (its best-ranked bid).

use std::collections::HashSet;

use alloy::primitives::{keccak256, Address, B256, U256};

/// A reveal that matched its commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealedBid {
    /// The solver's ed25519 key (the envelope signer of commit and reveal).
    pub solver: B256,
    pub commitment: B256,
    pub executor: Address,
    pub repay_amount: U256,
    pub premium: U256,
}

/// Valid bids, best first. The first is the winner; the rest are runners-up, awarded in
/// order if earlier winners fail to settle before their deadline.
pub fn rank_bids(bids: &[RevealedBid], reserve_premium: U256, max_repay: U256) -> Vec<RevealedBid> {
    rank_bids_with(bids, reserve_premium, max_repay, &HashSet::new())
}

/// [`rank_bids`], with the solvers in `deprioritised` ranked after all others.
pub fn rank_bids_with(
    bids: &[RevealedBid],
    reserve_premium: U256,
    max_repay: U256,
    deprioritised: &HashSet<B256>,
) -> Vec<RevealedBid> {
    let mut valid: Vec<RevealedBid> = bids
        .iter()
        .filter(|bid| bid.premium >= reserve_premium && !bid.repay_amount.is_zero() && bid.repay_amount <= max_repay)
        .cloned()
        .collect();
    valid.sort_by(|a, b| {
        deprioritised
            .contains(&a.solver)
            .cmp(&deprioritised.contains(&b.solver))
            .then_with(|| b.premium.cmp(&a.premium))
            .then_with(|| keccak256(a.commitment).cmp(&keccak256(b.commitment)))
    });
    // One solver, one bid; one executor, one bid: keep the best-ranked entry only.
    let mut solvers = HashSet::new();
    let mut executors = HashSet::new();
    valid.retain(|bid| solvers.insert(bid.solver) & executors.insert(bid.executor));
    valid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bid(solver: u8, premium: u64, commitment: u8) -> RevealedBid {
        RevealedBid {
            solver: B256::repeat_byte(solver),
            commitment: B256::repeat_byte(commitment),
            executor: Address::repeat_byte(solver),
            repay_amount: U256::from(100),
            premium: U256::from(premium),
        }
    }

    #[test]
    fn highest_premium_wins() {
        let ranked = rank_bids(&[bid(1, 5, 1), bid(2, 9, 2), bid(3, 7, 3)], U256::ZERO, U256::from(100));
        let premiums: Vec<u64> = ranked.iter().map(|bid| bid.premium.to::<u64>()).collect();
        assert_eq!(premiums, vec![9, 7, 5]);
    }

    #[test]
    fn below_reserve_is_not_a_bid() {
        assert!(rank_bids(&[bid(1, 0, 1), bid(2, 4, 2)], U256::from(5), U256::from(100)).is_empty());
    }

    #[test]
    fn repay_out_of_bounds_is_not_a_bid() {
        let mut zero = bid(1, 9, 1);
        zero.repay_amount = U256::ZERO;
        let mut too_much = bid(2, 9, 2);
        too_much.repay_amount = U256::from(101);
        assert!(rank_bids(&[zero, too_much], U256::ZERO, U256::from(100)).is_empty());
    }

    #[test]
    fn deprioritised_solvers_rank_last_and_an_executor_counts_once() {
        let absurd = bid(1, 1_000, 1);
        let honest = bid(2, 9, 2);
        let mut same_executor = bid(3, 8, 3);
        same_executor.executor = honest.executor;
        let flagged: HashSet<B256> = [absurd.solver].into_iter().collect();
        let ranked =
            rank_bids_with(&[absurd.clone(), honest.clone(), same_executor], U256::ZERO, U256::from(100), &flagged);
        let solvers: Vec<B256> = ranked.iter().map(|bid| bid.solver).collect();
        assert_eq!(solvers, vec![honest.solver, absurd.solver]);
    }

    #[test]
    fn ties_go_to_lowest_commitment_hash_whatever_the_input_order() {
        let a = bid(1, 5, 1);
        let b = bid(2, 5, 2);
        let expected = if keccak256(a.commitment) < keccak256(b.commitment) { a.solver } else { b.solver };
        assert_eq!(rank_bids(&[a.clone(), b.clone()], U256::ZERO, U256::from(100))[0].solver, expected);
        assert_eq!(rank_bids(&[b, a], U256::ZERO, U256::from(100))[0].solver, expected);
    }
}
