//! Durable node state in sled.
//!
//! Auctions are event-sourced: every accepted envelope (intent, commits, reveals) is
//! appended under its intent id, and a restart replays them through the same state
//! machine, so nothing accepted is forgotten. Votes are written and flushed *before*
//! they are sent: the double-sign guard survives SIGKILL.

use std::path::Path;

use alloy::primitives::{Address, B256};
use alloy::sol_types::SolValue;
use backstop_protocol::Award;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error in {path}: {source} (is another node using the same data_dir?)")]
    Open { path: String, source: sled::Error },
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    #[error("the flush task failed: {0}")]
    Flush(String),
    #[error("corrupt record in tree {tree}: {reason}")]
    Corrupt { tree: &'static str, reason: String },
}

/// Lifecycle of an auction as recorded on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AuctionStatus {
    Open = 1,
    Settled = 2,
    Failed = 3,
}

/// The last vote this node signed for an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteRecord {
    pub award: Award,
    pub signature: [u8; 65],
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    cursors: sled::Tree,
    accounts: sled::Tree,
    markets: sled::Tree,
    auction_log: sled::Tree,
    auction_status: sled::Tree,
    votes: sled::Tree,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = sled::open(path).map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        Ok(Self {
            cursors: db.open_tree("cursors")?,
            accounts: db.open_tree("accounts")?,
            markets: db.open_tree("markets")?,
            auction_log: db.open_tree("auction_log")?,
            auction_status: db.open_tree("auction_status")?,
            votes: db.open_tree("votes")?,
            db,
        })
    }

    /// Last fully processed block of a chain.
    pub fn cursor(&self, chain_id: u64) -> Result<Option<u64>, StoreError> {
        Ok(self.cursors.get(chain_id.to_be_bytes())?.map(|value| u64_from(&value)))
    }

    pub fn set_cursor(&self, chain_id: u64, block: u64) -> Result<(), StoreError> {
        self.cursors.insert(chain_id.to_be_bytes(), &block.to_be_bytes())?;
        Ok(())
    }

    /// Records the last processed block together with its hash, so that a reorg below
    /// the cursor is noticed on the next poll.
    pub fn set_cursor_with_hash(&self, chain_id: u64, block: u64, hash: B256) -> Result<(), StoreError> {
        let mut value = block.to_be_bytes().to_vec();
        value.extend_from_slice(hash.as_slice());
        self.cursors.insert(chain_id.to_be_bytes(), value)?;
        Ok(())
    }

    /// Hash of the cursor block, when it was recorded.
    pub fn cursor_hash(&self, chain_id: u64) -> Result<Option<B256>, StoreError> {
        Ok(self
            .cursors
            .get(chain_id.to_be_bytes())?
            .filter(|value| value.len() == 40)
            .map(|value| B256::from_slice(&value[8..])))
    }

    /// Forgets a chain's cursor: the next poll indexes from the configured start block.
    pub fn clear_cursor(&self, chain_id: u64) -> Result<(), StoreError> {
        self.cursors.remove(chain_id.to_be_bytes())?;
        Ok(())
    }

    /// Remembers that `account` has a position in the market at `adapter`.
    pub fn add_account(&self, chain_id: u64, adapter: Address, account: Address) -> Result<(), StoreError> {
        self.accounts.insert(account_key(chain_id, adapter, account), &[])?;
        Ok(())
    }

    pub fn accounts(&self, chain_id: u64, adapter: Address) -> Result<Vec<Address>, StoreError> {
        let mut prefix = chain_id.to_be_bytes().to_vec();
        prefix.extend_from_slice(adapter.as_slice());
        self.accounts.scan_prefix(&prefix).keys().map(|key| Ok(Address::from_slice(&key?[prefix.len()..]))).collect()
    }

    /// Remembers a market discovered from the settlement contract's registration log.
    pub fn add_market(&self, chain_id: u64, market_id: B256, adapter: Address) -> Result<(), StoreError> {
        let mut key = chain_id.to_be_bytes().to_vec();
        key.extend_from_slice(market_id.as_slice());
        self.markets.insert(key, adapter.as_slice())?;
        Ok(())
    }

    /// Markets of a chain as `(market id, adapter)`.
    pub fn markets(&self, chain_id: u64) -> Result<Vec<(B256, Address)>, StoreError> {
        let prefix = chain_id.to_be_bytes();
        self.markets
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                if key.len() != 40 || value.len() != 20 {
                    return Err(StoreError::Corrupt {
                        tree: "markets",
                        reason: format!("key {} value {}", key.len(), value.len()),
                    });
                }
                Ok((B256::from_slice(&key[8..]), Address::from_slice(&value)))
            })
            .collect()
    }

    /// Appends an accepted envelope to an auction's log.
    pub fn append_auction_message(&self, intent_id: B256, envelope: &[u8]) -> Result<(), StoreError> {
        let sequence = self.auction_log.scan_prefix(intent_id).count() as u32;
        let mut key = intent_id.to_vec();
        key.extend_from_slice(&sequence.to_be_bytes());
        self.auction_log.insert(key, envelope)?;
        if self.auction_status.get(intent_id)?.is_none() {
            self.auction_status.insert(intent_id, &[AuctionStatus::Open as u8])?;
        }
        Ok(())
    }

    /// Every envelope accepted for an auction, in arrival order.
    pub fn auction_messages(&self, intent_id: B256) -> Result<Vec<Vec<u8>>, StoreError> {
        self.auction_log.scan_prefix(intent_id).values().map(|value| Ok(value?.to_vec())).collect()
    }

    /// Forgets an auction's messages and status (a failed round being retried).
    pub fn reset_auction(&self, intent_id: B256) -> Result<(), StoreError> {
        for key in self.auction_log.scan_prefix(intent_id).keys() {
            self.auction_log.remove(key?)?;
        }
        self.auction_status.remove(intent_id)?;
        Ok(())
    }

    /// Records an auction's status. A settled auction's log is pruned: it will never be
    /// replayed, and keeping every closed auction's messages would grow without bound.
    pub fn set_status(&self, intent_id: B256, status: AuctionStatus) -> Result<(), StoreError> {
        self.auction_status.insert(intent_id, &[status as u8])?;
        if status == AuctionStatus::Settled {
            for key in self.auction_log.scan_prefix(intent_id).keys() {
                self.auction_log.remove(key?)?;
            }
        }
        Ok(())
    }

    pub fn status(&self, intent_id: B256) -> Result<Option<AuctionStatus>, StoreError> {
        Ok(self.auction_status.get(intent_id)?.and_then(|value| match value.first() {
            Some(1) => Some(AuctionStatus::Open),
            Some(2) => Some(AuctionStatus::Settled),
            Some(3) => Some(AuctionStatus::Failed),
            _ => None,
        }))
    }

    /// Auctions still open at shutdown, to be replayed on start.
    pub fn open_auctions(&self) -> Result<Vec<B256>, StoreError> {
        let mut open = Vec::new();
        for entry in self.auction_status.iter() {
            let (key, value) = entry?;
            if value.first() == Some(&(AuctionStatus::Open as u8)) && key.len() == 32 {
                open.push(B256::from_slice(&key));
            }
        }
        Ok(open)
    }

    pub fn vote(&self, intent_id: B256) -> Result<Option<VoteRecord>, StoreError> {
        let Some(value) = self.votes.get(intent_id)? else { return Ok(None) };
        if value.len() < 65 {
            return Err(StoreError::Corrupt { tree: "votes", reason: format!("{} bytes", value.len()) });
        }
        let (signature, award) = value.split_at(65);
        let award = Award::abi_decode(award)
            .map_err(|error| StoreError::Corrupt { tree: "votes", reason: error.to_string() })?;
        Ok(Some(VoteRecord { award, signature: signature.try_into().unwrap_or([0; 65]) }))
    }

    /// Records a vote and flushes it to disk before returning: only then may it be sent.
    pub async fn put_vote_durably(&self, record: &VoteRecord) -> Result<(), StoreError> {
        let mut value = record.signature.to_vec();
        value.extend_from_slice(&record.award.abi_encode());
        self.votes.insert(record.award.intentId, value)?;
        // Not `flush_async`: in sled 0.34 concurrent callers can sleep forever
        // (spacejam/sled#1308), and a crash signs dozens of votes at once. A blocking flush
        // on the blocking pool serialises inside sled and always returns.
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|error| StoreError::Flush(error.to_string()))??;
        Ok(())
    }
}

fn account_key(chain_id: u64, adapter: Address, account: Address) -> Vec<u8> {
    let mut key = chain_id.to_be_bytes().to_vec();
    key.extend_from_slice(adapter.as_slice());
    key.extend_from_slice(account.as_slice());
    key
}

fn u64_from(bytes: &[u8]) -> u64 {
    let mut buffer = [0u8; 8];
    let len = bytes.len().min(8);
    buffer[..len].copy_from_slice(&bytes[..len]);
    u64::from_be_bytes(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;

    /// sled 0.34's `flush_async` can leave concurrent callers asleep forever
    /// (spacejam/sled#1308): a crash's burst of votes then never got signed, and every
    /// later rank of those auctions was skipped. Many concurrent durable writes must all
    /// come back, and each must be on disk.
    #[test]
    fn concurrent_durable_votes_all_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        // On its own thread and runtime: a lost wake-up must fail the test, not hang it.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
            let store = Store::open(&path).unwrap();
            runtime.block_on(async {
                for burst in 0..8u8 {
                    let writes = (0..64u8).map(|index| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            let award = Award { intentId: B256::repeat_byte(index), ..Default::default() };
                            store.put_vote_durably(&VoteRecord { award, signature: [burst; 65] }).await
                        })
                    });
                    let results = futures::future::join_all(writes).await;
                    assert_eq!(results.len(), 64);
                    for result in results {
                        result.unwrap().unwrap();
                    }
                }
            });
            drop(store);
            let _ = done.send(());
        });
        finished
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("a burst of durable vote writes never completed (lost flush wake-up)");
        let store = Store::open(dir.path()).unwrap();
        for index in 0..64u8 {
            let vote = store.vote(B256::repeat_byte(index)).unwrap().expect("every vote is on disk");
            assert_eq!(vote.signature, [7; 65], "the last burst's vote for intent {index}");
        }
    }

    #[tokio::test]
    async fn state_survives_reopening_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let award = Award { intentId: B256::repeat_byte(7), deadline: U256::from(99), ..Default::default() };
        {
            let store = Store::open(dir.path()).unwrap();
            store.set_cursor(5, 1234).unwrap();
            store.add_market(5, B256::repeat_byte(4), Address::repeat_byte(1)).unwrap();
            store.add_account(5, Address::repeat_byte(1), Address::repeat_byte(2)).unwrap();
            store.append_auction_message(B256::repeat_byte(7), b"first").unwrap();
            store.append_auction_message(B256::repeat_byte(7), b"second").unwrap();
            store.put_vote_durably(&VoteRecord { award: award.clone(), signature: [3; 65] }).await.unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.cursor(5).unwrap(), Some(1234));
        assert_eq!(store.cursor(6).unwrap(), None);
        assert_eq!(store.cursor_hash(5).unwrap(), None);
        store.set_cursor_with_hash(5, 1235, B256::repeat_byte(3)).unwrap();
        assert_eq!(store.cursor(5).unwrap(), Some(1235));
        assert_eq!(store.cursor_hash(5).unwrap(), Some(B256::repeat_byte(3)));
        store.clear_cursor(5).unwrap();
        assert_eq!(store.cursor(5).unwrap(), None);
        assert_eq!(store.markets(5).unwrap(), vec![(B256::repeat_byte(4), Address::repeat_byte(1))]);
        assert!(store.markets(6).unwrap().is_empty());
        assert_eq!(store.accounts(5, Address::repeat_byte(1)).unwrap(), vec![Address::repeat_byte(2)]);
        assert!(store.accounts(5, Address::repeat_byte(9)).unwrap().is_empty());
        assert_eq!(store.auction_messages(B256::repeat_byte(7)).unwrap(), vec![b"first".to_vec(), b"second".to_vec()]);
        assert_eq!(store.open_auctions().unwrap(), vec![B256::repeat_byte(7)]);
        assert_eq!(store.vote(B256::repeat_byte(7)).unwrap(), Some(VoteRecord { award, signature: [3; 65] }));
        store.set_status(B256::repeat_byte(7), AuctionStatus::Settled).unwrap();
        assert!(store.open_auctions().unwrap().is_empty());
        assert!(store.auction_messages(B256::repeat_byte(7)).unwrap().is_empty(), "a settled auction's log is pruned");
        assert_eq!(store.status(B256::repeat_byte(7)).unwrap(), Some(AuctionStatus::Settled));
        store.reset_auction(B256::repeat_byte(7)).unwrap();
        assert!(store.auction_messages(B256::repeat_byte(7)).unwrap().is_empty());
        assert_eq!(store.status(B256::repeat_byte(7)).unwrap(), None);
    }
}
