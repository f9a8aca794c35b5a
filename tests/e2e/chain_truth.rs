//! What happened, read back from a chain at one pinned block, so that every assertion
//! compares numbers from the same state.

use std::collections::BTreeMap;

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use backstop_bindings::{LiquidationSettlement, TestToken};
use backstop_devnet::DevnetChain;

pub struct ChainTruth {
    pub block: u64,
    pub settled: Vec<LiquidationSettlement::Settled>,
    /// Settlement nonce of every devnet account.
    pub nonces: BTreeMap<Address, U256>,
    /// USD balance of the market's beneficiary, the engine's insurance fund.
    pub beneficiary_balance: U256,
}

impl ChainTruth {
    pub async fn read(chain: &DevnetChain) -> eyre::Result<Self> {
        let provider = &chain.chain.provider;
        let block = provider.get_block_number().await?;
        let at = BlockId::number(block);
        let settlement = LiquidationSettlement::new(chain.deployment.settlement, provider);
        let usd = TestToken::new(chain.deployment.usd, provider);
        let settled = settlement
            .Settled_filter()
            .from_block(chain.deployment.deploy_block)
            .to_block(block)
            .query()
            .await?
            .into_iter()
            .map(|(event, _log)| event)
            .collect();
        let mut nonces = BTreeMap::new();
        for position in &chain.positions {
            let account = position.address();
            nonces.insert(account, settlement.nonces(chain.deployment.market_id, account).block(at).call().await?);
        }
        let beneficiary_balance = usd.balanceOf(chain.deployment.beneficiary).block(at).call().await?;
        Ok(Self { block, settled, nonces, beneficiary_balance })
    }

    pub fn settlements_of(&self, account: Address) -> usize {
        self.settled.iter().filter(|event| event.account == account).count()
    }
}

/// Every account in `accounts` has been liquidated through `settle` at least once.
pub async fn all_settled(chain: &DevnetChain, accounts: &[Address]) -> bool {
    let settlement = LiquidationSettlement::new(chain.deployment.settlement, &chain.chain.provider);
    for account in accounts {
        match settlement.nonces(chain.deployment.market_id, *account).call().await {
            Ok(nonce) if !nonce.is_zero() => {}
            _ => return false,
        }
    }
    true
}
