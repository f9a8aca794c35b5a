//! Committee membership: signing EIP-712 awards with the double-sign guard.
//!
//! A member never signs a second, different award for an intent while an earlier one
//! can still settle. The vote is persisted and flushed before the signature leaves
//! this module, so a crash between signing and sending cannot lead to a double sign.

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use backstop_protocol::timing::may_replace_award;
use backstop_protocol::Award;

use crate::store::{Store, StoreError, VoteRecord};

pub use backstop_protocol::timing::DEADLINE_SLACK_SECS;

#[derive(Debug, thiserror::Error)]
pub enum CommitteeError {
    #[error("refusing to double-sign intent {intent_id}: an award to {previous_executor} is valid until {deadline}")]
    DoubleSign { intent_id: alloy::primitives::B256, previous_executor: Address, deadline: u64 },
    #[error("signing failed: {0}")]
    Signer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Committee {
    signer: PrivateKeySigner,
    store: Store,
}

impl Committee {
    pub fn new(signer: PrivateKeySigner, store: Store) -> Self {
        Self { signer, store }
    }

    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Signs `award` unless that would double-sign. Signing the same award again
    /// returns the stored signature (safe to re-broadcast after a restart). The guard is
    /// the protocol's award schedule rule ([`may_replace_award`]), so a runner-up due by
    /// the schedule is never refused.
    pub async fn sign(
        &self,
        chain_id: u64,
        settlement: Address,
        award: &Award,
        now_ms: u64,
    ) -> Result<[u8; 65], CommitteeError> {
        if let Some(previous) = self.store.vote(award.intentId)? {
            if previous.award == *award {
                return Ok(previous.signature);
            }
            let deadline: u64 = previous.award.deadline.saturating_to();
            let new_deadline: u64 = award.deadline.saturating_to();
            if !may_replace_award(deadline, new_deadline, now_ms) {
                return Err(CommitteeError::DoubleSign {
                    intent_id: award.intentId,
                    previous_executor: previous.award.executor,
                    deadline,
                });
            }
        }
        let hash = award.signing_hash(chain_id, settlement);
        let signature = self.signer.sign_hash_sync(&hash).map_err(|error| CommitteeError::Signer(error.to_string()))?;
        let record = VoteRecord { award: award.clone(), signature: signature.as_bytes() };
        self.store.put_vote_durably(&record).await?;
        Ok(record.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{B256, U256};

    fn award(executor: u8, deadline: u64) -> Award {
        Award {
            intentId: B256::repeat_byte(1),
            executor: Address::repeat_byte(executor),
            deadline: U256::from(deadline),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn never_signs_a_second_award_while_the_first_can_settle_even_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKeySigner::random();
        let settlement = Address::repeat_byte(9);
        let first = {
            let committee = Committee::new(key.clone(), Store::open(dir.path()).unwrap());
            committee.sign(1, settlement, &award(1, 100), 90_000).await.unwrap()
        };
        // Restarted node, same key, same data dir.
        let committee = Committee::new(key.clone(), Store::open(dir.path()).unwrap());
        assert_eq!(
            committee.sign(1, settlement, &award(1, 100), 95_000).await.unwrap(),
            first,
            "same award: same signature"
        );
        assert!(matches!(
            committee.sign(1, settlement, &award(2, 112), 95_000).await,
            Err(CommitteeError::DoubleSign { .. })
        ));
        assert!(matches!(
            committee.sign(1, settlement, &award(2, 112), (100 + DEADLINE_SLACK_SECS) * 1000 + 999).await,
            Err(CommitteeError::DoubleSign { .. })
        ));
        // Once the first award has expired, the runner-up may be awarded with a later deadline.
        let second =
            committee.sign(1, settlement, &award(2, 112), (100 + DEADLINE_SLACK_SECS + 1) * 1000).await.unwrap();
        assert_eq!(award(2, 112).recover_signer(1, settlement, &second), Ok(key.address()));
        // ...but never one with an earlier deadline.
        assert!(committee.sign(1, settlement, &award(3, 110), 200_000).await.is_err());
    }

    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                // A file may vanish between listing and copying (sled rotates snapshots).
                let _ = std::fs::copy(entry.path(), &target);
            }
        }
    }

    /// A crash at any instant after `sign` returned (the signature may be on the wire)
    /// leaves a disk from which the node refuses every conflicting award. The disk
    /// snapshot is the state a SIGKILL would leave: whatever sled had written out.
    #[tokio::test]
    async fn a_crash_right_after_signing_never_loses_the_vote() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKeySigner::random();
        let settlement = Address::repeat_byte(9);
        let committee = Committee::new(key.clone(), Store::open(&dir.path().join("db")).unwrap());
        let mut crashes = 0;
        for round in 0..200u64 {
            let mut signed = award(rng.gen_range(1..=200), 1_000 + round);
            signed.intentId = B256::from(U256::from(round));
            committee.sign(1, settlement, &signed, 900_000).await.unwrap();
            // Crash now: copy the data dir as the process would leave it.
            let crashed = dir.path().join(format!("crash-{round}"));
            copy_dir(&dir.path().join("db"), &crashed);
            let Ok(store) = Store::open(&crashed) else { continue };
            crashes += 1;
            let restarted = Committee::new(key.clone(), store);
            let mut other = signed.clone();
            other.executor = Address::repeat_byte(0xff);
            assert!(
                matches!(restarted.sign(1, settlement, &other, 900_000).await, Err(CommitteeError::DoubleSign { .. })),
                "round {round}: the vote was not on disk when it could be sent"
            );
            drop(restarted);
            let _ = std::fs::remove_dir_all(&crashed);
        }
        assert!(crashes >= 190, "most crash images opened: {crashes}");
    }

    /// SIGKILL at random points while the committee signs across many auctions: each
    /// crash image (the data dir as a killed process leaves it) must hold every vote that
    /// had been handed out for sending before the kill, so the restarted member refuses
    /// any other award for those intents. Hundreds of kills per run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kills_at_random_points_across_many_auctions_never_lose_a_sent_vote() {
        use rand::{Rng, SeedableRng};
        use std::sync::{Arc, Mutex};
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKeySigner::random();
        let settlement = Address::repeat_byte(9);
        let committee = Committee::new(key.clone(), Store::open(&dir.path().join("db")).unwrap());
        let sent: Arc<Mutex<Vec<Award>>> = Arc::default();
        let signer = {
            let sent = sent.clone();
            tokio::spawn(async move {
                for auction in 0..300u64 {
                    let mut first = award(1, 1_000);
                    first.intentId = B256::from(U256::from(auction));
                    committee.sign(1, settlement, &first, 900_000).await.unwrap();
                    sent.lock().unwrap().push(first.clone());
                    // Every third winner never settles: the runner-up is signed once the first is dead.
                    if auction % 3 == 0 {
                        let mut second = award(2, 1_016);
                        second.intentId = first.intentId;
                        let after = (1_000 + DEADLINE_SLACK_SECS + 1) * 1000;
                        committee.sign(1, settlement, &second, after).await.unwrap();
                        sent.lock().unwrap().push(second);
                    }
                }
            })
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut kills = 0;
        while !signer.is_finished() {
            tokio::time::sleep(std::time::Duration::from_micros(rng.gen_range(500..5_000))).await;
            let before_kill: Vec<Award> = sent.lock().unwrap().clone();
            let image = dir.path().join(format!("kill-{kills}"));
            copy_dir(&dir.path().join("db"), &image);
            let Ok(store) = Store::open(&image) else { continue };
            kills += 1;
            for award in &before_kill {
                let stored = store.vote(award.intentId).unwrap().expect("a sent vote is on disk");
                assert!(stored.award.deadline >= award.deadline, "kill {kills}: a sent vote was rolled back");
            }
            drop(store);
            let _ = std::fs::remove_dir_all(&image);
        }
        signer.await.unwrap();
        println!("{kills} kills while signing 400 votes across 300 auctions");
        // Checked over every kill: first make sure there were enough (fewer on a loaded machine).
        assert!(kills >= 10, "the signer was killed often enough: {kills}");
        assert_eq!(sent.lock().unwrap().len(), 400, "every auction was voted on");
    }
}
