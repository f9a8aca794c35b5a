//! Committee voting. The award schedule (which rank, from when, with which deadline)
//! comes from the shared auction core; this module asks the runtime to sign each due
//! award once. Signing and the durable flush happen off the core (the runtime's
//! committee task); the vote is published only once it is on disk.

use alloy::primitives::B256;
use backstop_protocol::message::{AwardVote, Message};
use backstop_protocol::{Award, Kind};

use super::{Core, Effect};
use crate::observe;

impl Core {
    pub(crate) fn on_rank_due(&mut self, chain_id: u64, id: B256, award: Award, effects: &mut Vec<Effect>) {
        if !self.committee_member {
            return;
        }
        if let Some(queued) = self.signing.get_mut(&id) {
            // Ranks only move forward: the latest due award replaces an older queued one.
            *queued = Some((chain_id, award));
            return;
        }
        if self.voted.get(&id).is_some_and(|voted| voted.deadline >= award.deadline) {
            return; // already voted for this rank (or a later one) before a restart
        }
        let Some(book) = self.books.get(&chain_id) else { return };
        let settlement = book.context.settlement;
        self.signing.insert(id, None);
        effects.push(Effect::SignVote { chain_id, settlement, award });
    }

    pub(crate) fn on_vote_signed(
        &mut self,
        chain_id: u64,
        award: Award,
        result: Result<[u8; 65], String>,
        effects: &mut Vec<Effect>,
    ) {
        let id = award.intentId;
        let queued = self.signing.remove(&id).flatten();
        self.publish_signed(chain_id, award, result, effects);
        if let Some((chain_id, later)) = queued {
            self.on_rank_due(chain_id, id, later, effects);
        }
    }

    fn publish_signed(
        &mut self,
        chain_id: u64,
        award: Award,
        result: Result<[u8; 65], String>,
        effects: &mut Vec<Effect>,
    ) {
        let id = award.intentId;
        match result {
            Ok(signature) => {
                observe::vote_signed(chain_id, id, award.executor, award.deadline);
                self.voted.insert(id, award.clone());
                let attester = self.attester;
                let Some(book) = self.books.get_mut(&chain_id) else { return };
                if let Some(attester) = attester {
                    book.note_own_vote(attester, &award);
                }
                let vote = AwardVote {
                    chainId: chain_id,
                    settlement: book.context.settlement,
                    award,
                    signature: signature.to_vec().into(),
                };
                let envelope = self.seal(&Message::Vote(vote));
                effects.push(Effect::Publish { chain_id, kind: Kind::Vote, envelope });
            }
            Err(error) => observe::vote_refused(chain_id, id, &error),
        }
    }
}
