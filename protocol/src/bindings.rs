//! Typed bindings to the Backstop contracts, generated from the committed forge
//! artifacts in `protocol/abi/` (so building needs no Node.js or solc). The test
//! command fails if those artifacts differ from a fresh `forge build`.

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    LiquidationSettlement,
    "abi/LiquidationSettlement.json"
);

sol!(
    /// The adapter interface every watched market implements; nodes use only this.
    #[sol(rpc)]
    #[derive(Debug)]
    IMarginMarket,
    "abi/IMarginMarket.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    MarginEngine,
    "abi/MarginEngine.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    OracleRouter,
    "abi/OracleRouter.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    InsuranceFund,
    "abi/InsuranceFund.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    MockPriceFeed,
    "abi/MockPriceFeed.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TestToken,
    "abi/TestToken.json"
);

sol!(
    /// Solver admission: an executor bonds its solver's ed25519 key; nodes count only admitted solvers.
    #[sol(rpc)]
    #[derive(Debug)]
    SolverRegistry,
    "abi/SolverRegistry.json"
);

impl From<crate::award::Award> for LiquidationSettlement::Award {
    fn from(award: crate::award::Award) -> Self {
        Self {
            intentId: award.intentId,
            marketId: award.marketId,
            account: award.account,
            nonce: award.nonce,
            executor: award.executor,
            repayAmount: award.repayAmount,
            premium: award.premium,
            deadline: award.deadline,
        }
    }
}
