//! Rebuilding the core after a restart from what the store kept: every accepted
//! envelope of the auctions open at shutdown, replayed through the same auction core,
//! and every vote signed, so the schedule resumes without signing anything twice.

use alloy::primitives::B256;
use backstop_protocol::envelope::{Envelope, Verified};
use backstop_protocol::message::Message;
use backstop_protocol::Award;

use super::Core;

impl Core {
    /// Replays one auction's stored envelopes, in arrival order, and the vote this
    /// node signed for it. Returns whether the auction is tracked afterwards.
    pub fn restore_auction(&mut self, id: B256, envelopes: &[Vec<u8>], vote: Option<Award>) -> bool {
        for bytes in envelopes {
            let Ok(Verified { signer, message }) = Envelope::open(bytes) else { continue };
            let Some(book) = self.books.get_mut(&message.chain_id()) else { continue };
            match message {
                Message::Intent(intent) if intent.id() == id => book.restore_intent(signer, intent),
                Message::Commit(_) | Message::Reveal(_) => book.restore_bid(signer, &message),
                _ => {}
            }
        }
        let tracked = self.books.values().any(|book| book.round(&id).is_some());
        if let (true, Some(award)) = (tracked, vote) {
            self.voted.insert(id, award);
        }
        tracked
    }
}
