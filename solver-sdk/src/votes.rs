//! Collecting committee votes: identical awards are grouped, each attester counts once
//! per award, and an award is settleable once `threshold` current attesters signed it. Pure.

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, Bytes};
use backstop_protocol::Award;

/// Distinct awards tracked per intent. Honest committees sign one award per deadline
/// (winner, then runners-up), so a handful is plenty; more is noise or an attack.
pub(crate) const MAX_AWARDS_PER_INTENT: usize = 8;

pub(crate) use backstop_protocol::auction::Committee;

/// What adding a vote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tally {
    /// This signer had already signed this award.
    Duplicate,
    /// Too many distinct awards for this intent; the vote was not stored.
    Full,
    /// Counted; `signers` distinct signatures are stored for this award.
    Counted { signers: usize },
}

/// Signatures ready for `settle`: exactly `threshold` of them, ordered by signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quorum {
    pub award: Award,
    pub signatures: Vec<Bytes>,
}

/// Votes for one intent.
#[derive(Debug, Clone, Default)]
pub(crate) struct VoteTally {
    awards: HashMap<Award, BTreeMap<Address, Bytes>>,
}

impl VoteTally {
    /// Adds a vote whose signature already recovered to `signer`.
    pub fn add(&mut self, award: Award, signer: Address, signature: Bytes) -> Tally {
        if !self.awards.contains_key(&award) && self.awards.len() >= MAX_AWARDS_PER_INTENT {
            return Tally::Full;
        }
        let signatures = self.awards.entry(award).or_default();
        if signatures.contains_key(&signer) {
            return Tally::Duplicate;
        }
        signatures.insert(signer, signature);
        Tally::Counted { signers: signatures.len() }
    }

    /// The award's quorum under `committee`, if current attesters reached its threshold.
    /// Signers no longer in the committee do not count.
    pub fn quorum(&self, award: &Award, committee: &Committee) -> Option<Quorum> {
        let signatures = self.awards.get(award)?;
        let valid: Vec<Bytes> = signatures
            .iter()
            .filter(|(signer, _)| committee.attesters.contains(*signer))
            .map(|(_, signature)| signature.clone())
            .take(committee.threshold)
            .collect();
        (valid.len() >= committee.threshold).then(|| Quorum { award: award.clone(), signatures: valid })
    }

    /// Every award that currently has a quorum.
    pub fn quorums(&self, committee: &Committee) -> Vec<Quorum> {
        self.awards.keys().filter_map(|award| self.quorum(award, committee)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{B256, U256};

    fn award(premium: u64) -> Award {
        Award { intentId: B256::repeat_byte(1), premium: U256::from(premium), ..Default::default() }
    }

    fn signer(byte: u8) -> Address {
        Address::repeat_byte(byte)
    }

    fn sig(byte: u8) -> Bytes {
        Bytes::from(vec![byte; 65])
    }

    #[test]
    fn quorum_needs_threshold_distinct_signers_of_the_same_award() {
        let committee = Committee::new([signer(1), signer(2), signer(3)], 2);
        let mut tally = VoteTally::default();
        assert_eq!(tally.add(award(5), signer(1), sig(1)), Tally::Counted { signers: 1 });
        // The same attester again does not count twice.
        assert_eq!(tally.add(award(5), signer(1), sig(1)), Tally::Duplicate);
        // A different award from another attester is a separate group.
        assert_eq!(tally.add(award(6), signer(2), sig(2)), Tally::Counted { signers: 1 });
        assert_eq!(tally.quorum(&award(5), &committee), None);
        assert_eq!(tally.quorum(&award(6), &committee), None);
        assert_eq!(tally.add(award(5), signer(3), sig(3)), Tally::Counted { signers: 2 });
        let quorum = tally.quorum(&award(5), &committee).expect("two of three signed award 5");
        assert_eq!(quorum.award, award(5));
        assert_eq!(quorum.signatures, vec![sig(1), sig(3)]);
        assert_eq!(tally.quorums(&committee).len(), 1);
    }

    #[test]
    fn quorum_carries_exactly_threshold_signatures_ordered_by_signer() {
        let committee = Committee::new([signer(1), signer(2), signer(3)], 2);
        let mut tally = VoteTally::default();
        for byte in [3, 1, 2] {
            tally.add(award(5), signer(byte), sig(byte));
        }
        assert_eq!(tally.quorum(&award(5), &committee).unwrap().signatures, vec![sig(1), sig(2)]);
    }

    #[test]
    fn removed_attesters_stop_counting() {
        let mut tally = VoteTally::default();
        tally.add(award(5), signer(1), sig(1));
        tally.add(award(5), signer(2), sig(2));
        assert!(tally.quorum(&award(5), &Committee::new([signer(1), signer(2)], 2)).is_some());
        assert!(tally.quorum(&award(5), &Committee::new([signer(1), signer(3)], 2)).is_none());
    }

    #[test]
    fn zero_threshold_is_treated_as_one() {
        let committee = Committee::new([signer(1)], 0);
        let tally = VoteTally::default();
        assert_eq!(committee.threshold, 1);
        assert!(tally.quorum(&award(5), &committee).is_none(), "no vote, no quorum");
    }

    #[test]
    fn distinct_awards_per_intent_are_bounded() {
        let mut tally = VoteTally::default();
        for premium in 0..MAX_AWARDS_PER_INTENT as u64 {
            assert_eq!(tally.add(award(premium), signer(1), sig(1)), Tally::Counted { signers: 1 });
        }
        assert_eq!(tally.add(award(999), signer(1), sig(1)), Tally::Full);
        // Known awards still take votes.
        assert_eq!(tally.add(award(0), signer(2), sig(2)), Tally::Counted { signers: 2 });
    }
}
