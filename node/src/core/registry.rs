//! Keeps each chain's [`ChainContext`](backstop_protocol::auction::ChainContext) current
//! from the chain watcher's events: registered markets, the committee, admitted
//! solvers, settlements that close auctions and reorgs that reopen them.

use backstop_protocol::auction::MarketTerms;

use super::{Core, Effect};
use crate::chain::ChainEvent;
use crate::observe;
use crate::store::AuctionStatus;

impl Core {
    pub(crate) fn on_chain_event(&mut self, event: ChainEvent, now_ms: u64, effects: &mut Vec<Effect>) {
        match event {
            ChainEvent::Market(market) => {
                if let Some(book) = self.books.get_mut(&market.chain_id) {
                    book.context.markets.insert(
                        market.market_id,
                        MarketTerms {
                            market_id: market.market_id,
                            adapter: market.adapter,
                            debt_asset: market.debt_asset,
                            collateral_assets: market.collateral_assets.clone(),
                            reserve_premium: market.reserve_premium,
                        },
                    );
                }
            }
            ChainEvent::Candidate(candidate) => self.on_candidate(candidate, now_ms, effects),
            ChainEvent::Settled { chain_id, intent_id, executor, premium, block } => {
                observe::auction_settled(chain_id, intent_id, executor, premium, block);
                self.close(chain_id, intent_id, effects);
            }
            ChainEvent::OpenLiquidated { chain_id, intent_id, liquidator, block } => {
                observe::auction_preempted(chain_id, intent_id, liquidator, block);
                self.close(chain_id, intent_id, effects);
            }
            ChainEvent::Committee { chain_id, attesters } => {
                if let Some(book) = self.books.get_mut(&chain_id) {
                    let threshold = book.context.committee.threshold;
                    book.context.committee = backstop_protocol::auction::Committee::new(attesters, threshold);
                }
            }
            ChainEvent::Solver { chain_id, solver, executor, admitted } => {
                if let Some(book) = self.books.get_mut(&chain_id) {
                    if let backstop_protocol::auction::Admission::Bonded(set) = &mut book.context.admission {
                        if admitted {
                            set.admit(solver, executor);
                        } else {
                            set.remove(solver, executor);
                        }
                    }
                    observe::solver_admission(chain_id, solver, executor, admitted);
                }
            }
            ChainEvent::Reorg { .. } | ChainEvent::Head { .. } => {}
        }
    }

    fn close(&mut self, chain_id: u64, intent_id: alloy::primitives::B256, effects: &mut Vec<Effect>) {
        if let Some(book) = self.books.get_mut(&chain_id) {
            book.close(intent_id);
        }
        self.origination.closed(&intent_id);
        self.voted.remove(&intent_id);
        effects.push(Effect::SetStatus { id: intent_id, status: AuctionStatus::Settled });
    }
}
