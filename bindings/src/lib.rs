//! Typed bindings to the Backstop contracts, generated from the committed forge
//! artifacts in `protocol/abi/` (so building needs no Node.js or solc). The test
//! command fails if those artifacts differ from a fresh `forge build`.

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

pub mod batch;

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    LiquidationSettlement,
    "../protocol/abi/LiquidationSettlement.json"
);

sol!(
    /// The adapter interface every watched market implements; nodes use only this.
    #[sol(rpc)]
    #[derive(Debug)]
    IMarginMarket,
    "../protocol/abi/IMarginMarket.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    MarginEngine,
    "../protocol/abi/MarginEngine.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    OracleRouter,
    "../protocol/abi/OracleRouter.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    InsuranceFund,
    "../protocol/abi/InsuranceFund.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    MockPriceFeed,
    "../protocol/abi/MockPriceFeed.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    TestToken,
    "../protocol/abi/TestToken.json"
);

sol!(
    /// A deployless multicall for reads: its creation code with the calls as constructor
    /// arguments, sent as an `eth_call` without a `to`, reverts with `BatchResults` (one
    /// result per call). Nothing is deployed; see `contracts/src/lens/BatchReader.sol`.
    #[sol(rpc)]
    #[derive(Debug)]
    BatchReader,
    "../protocol/abi/BatchReader.json"
);

sol!(
    /// Devnet and benchmark tooling: opens many margin accounts in one transaction.
    #[sol(rpc)]
    #[derive(Debug)]
    PositionFactory,
    "../protocol/abi/PositionFactory.json"
);

sol!(
    /// Morpho Blue 1.0.0 (`@morpho-org/morpho-blue`, BUSL-1.1 / GPL-2.0-or-later), compiled by
    /// `contracts/tools/build-morpho.js`. Its artifact has no events (solc 0.8.19 leaves library
    /// events out of the ABI): they are in [`MorphoEvents`].
    #[sol(rpc)]
    #[derive(Debug)]
    Morpho,
    "../protocol/abi/Morpho.json"
);

sol!(
    /// Morpho Blue's events (`EventsLib.sol`), which its compiled ABI omits. `Id` is `bytes32`.
    #[derive(Debug)]
    interface MorphoEvents {
        event SetFee(bytes32 indexed id, uint256 newFee);
        event CreateMarket(bytes32 indexed id, MarketParams marketParams);
        event Supply(bytes32 indexed id, address indexed caller, address indexed onBehalf, uint256 assets, uint256 shares);
        event Withdraw(bytes32 indexed id, address caller, address indexed onBehalf, address indexed receiver, uint256 assets, uint256 shares);
        event Borrow(bytes32 indexed id, address caller, address indexed onBehalf, address indexed receiver, uint256 assets, uint256 shares);
        event Repay(bytes32 indexed id, address indexed caller, address indexed onBehalf, uint256 assets, uint256 shares);
        event SupplyCollateral(bytes32 indexed id, address indexed caller, address indexed onBehalf, uint256 assets);
        event WithdrawCollateral(bytes32 indexed id, address caller, address indexed onBehalf, address indexed receiver, uint256 assets);
        event Liquidate(bytes32 indexed id, address indexed caller, address indexed borrower, uint256 repaidAssets, uint256 repaidShares, uint256 seizedAssets, uint256 badDebtAssets, uint256 badDebtShares);
        event SetAuthorization(address indexed caller, address indexed authorizer, address indexed authorized, bool newIsAuthorized);
        event AccrueInterest(bytes32 indexed id, uint256 prevBorrowRate, uint256 interest, uint256 feeShares);

        struct MarketParams {
            address loanToken;
            address collateralToken;
            address oracle;
            address irm;
            uint256 lltv;
        }
    }
);

sol!(
    /// Morpho's interest rate model interface (`IIrm.sol`); nodes read `borrowRateView`.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IIrm {
        struct MarketParams {
            address loanToken;
            address collateralToken;
            address oracle;
            address irm;
            uint256 lltv;
        }
        struct Market {
            uint128 totalSupplyAssets;
            uint128 totalSupplyShares;
            uint128 totalBorrowAssets;
            uint128 totalBorrowShares;
            uint128 lastUpdate;
            uint128 fee;
        }
        function borrowRateView(MarketParams memory marketParams, Market memory market) external view returns (uint256);
    }
);

sol!(
    /// Morpho's oracle interface (`IOracle.sol`): loan units per collateral unit, scaled by 1e36.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IMorphoOracle {
        function price() external view returns (uint256);
    }
);

sol!(
    /// Backstop's pre-liquidation adapter for one Morpho Blue market.
    #[sol(rpc)]
    #[derive(Debug)]
    MorphoPreLiquidation,
    "../protocol/abi/MorphoPreLiquidation.json"
);

sol!(
    /// Devnet and tests: a settable Morpho oracle.
    #[sol(rpc)]
    #[derive(Debug)]
    MorphoOracleMock,
    "../protocol/abi/MorphoOracleMock.json"
);

sol!(
    /// Devnet and tests: a fixed per-second borrow rate.
    #[sol(rpc)]
    #[derive(Debug)]
    FixedRateIrm,
    "../protocol/abi/FixedRateIrm.json"
);

sol!(
    /// Uniswap V2's factory as published on npm (`@uniswap/v2-core` 1.0.1, never recompiled):
    /// the devnet's DEX on every chain.
    #[sol(rpc)]
    #[derive(Debug)]
    UniswapV2Factory,
    "../protocol/abi/UniswapV2Factory.json"
);

sol!(
    /// A Uniswap V2 pair (`@uniswap/v2-core` 1.0.1): reserves, swaps and flash swaps.
    #[sol(rpc)]
    #[derive(Debug)]
    UniswapV2Pair,
    "../protocol/abi/UniswapV2Pair.json"
);

/// The flash liquidator's bindings live in their own module: its ABI names the settlement's
/// `Award` struct as `LiquidationSettlement.Award`, which `sol!` turns into a
/// `LiquidationSettlement` module of its own.
pub mod flash {
    #![allow(missing_docs)]
    alloy::sol!(
        /// A solver's executor that settles awards with a Uniswap V2 flash swap (needs no debt
        /// inventory): `liquidate(award, signatures, pair, borrowAmount, minProfit)`.
        #[sol(rpc)]
        #[derive(Debug)]
        FlashLiquidator,
        "../protocol/abi/FlashLiquidator.json"
    );

    impl From<backstop_protocol::Award> for LiquidationSettlement::Award {
        fn from(award: backstop_protocol::Award) -> Self {
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
}
pub use flash::FlashLiquidator;

impl From<backstop_protocol::Award> for LiquidationSettlement::Award {
    fn from(award: backstop_protocol::Award) -> Self {
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

sol!(
    /// Solver admission: an executor bonds its solver's ed25519 key; peers count only
    /// bonded solvers' bids (see `docs/protocol.md`, "Solvers: admission").
    #[sol(rpc)]
    #[derive(Debug)]
    SolverRegistry,
    "../protocol/abi/SolverRegistry.json"
);

/// Reads what the chain says about a peer's intent: liquidatability, `maxRepay` and the
/// collateral's price at its observed block, and the settlement's nonce at the head.
/// Nodes and solvers both use it; the verdict is the auction core's
/// (`backstop_protocol::auction::check_claims`), this only reads.
///
/// `known_head` is a head the caller learnt moments ago (a head poller's): when it has
/// reached the observed block, the head is not asked again. The three claims are read at
/// the observed block beside the nonce at the head, through `reads`, which shares the
/// round trip with every other read waiting meanwhile (see [`batch::Coalescer`]): a crash
/// brings hundreds of intents a block, mostly observed at the same few blocks.
pub async fn read_intent_facts(
    reads: &batch::Coalescer,
    adapter: alloy::primitives::Address,
    intent: &backstop_protocol::Intent,
    known_head: Option<u64>,
) -> Result<backstop_protocol::auction::IntentFacts, String> {
    use alloy::eips::BlockId;
    use alloy::primitives::{Bytes, U256};
    use alloy::providers::Provider;
    use alloy::sol_types::SolCall;
    use backstop_protocol::auction::{check_observed_block, IntentFacts};

    let head_block = match known_head {
        Some(head) if head >= intent.observedBlock => head,
        _ => reads.provider().get_block_number().await.map_err(|error| error.to_string())?,
    };
    if check_observed_block(intent, head_block).is_err() {
        // Nothing to read at that block; `check_claims` names the reason from the head.
        return Ok(IntentFacts {
            head_block,
            liquidatable: false,
            max_repay: U256::ZERO,
            price: U256::ZERO,
            current_nonce: U256::ZERO,
        });
    }
    let claims: Vec<(alloy::primitives::Address, Bytes)> = vec![
        (adapter, IMarginMarket::isLiquidatableCall { account: intent.account }.abi_encode().into()),
        (adapter, IMarginMarket::maxRepayCall { account: intent.account }.abi_encode().into()),
        (adapter, IMarginMarket::priceCall { asset: intent.collateralAsset }.abi_encode().into()),
    ];
    let nonce = vec![(
        intent.settlement,
        LiquidationSettlement::noncesCall { marketId: intent.marketId, account: intent.account }.abi_encode().into(),
    )];
    let read = || async {
        let (claims, nonce) = futures::future::try_join(
            reads.call_raw(claims.clone(), BlockId::number(intent.observedBlock)),
            reads.call_raw(nonce.clone(), BlockId::number(head_block)),
        )
        .await
        .map_err(|error| error.to_string())?;
        // A reverting view is the adapter's answer, and refutes the claim it backs.
        let answer = |index: usize, what: &str| -> Result<Bytes, String> {
            match claims.get(index) {
                Some(Ok(data)) => Ok(data.clone()),
                Some(Err(error)) => Err(format!("{what} reverted: {error:?}")),
                None => Err(format!("{what}: no answer")),
            }
        };
        let liquidatable = IMarginMarket::isLiquidatableCall::abi_decode_returns(&answer(0, "isLiquidatable()")?)
            .map_err(|error| format!("isLiquidatable(): {error}"))?;
        let max_repay = IMarginMarket::maxRepayCall::abi_decode_returns(&answer(1, "maxRepay()")?)
            .map_err(|error| format!("maxRepay(): {error}"))?;
        let price = IMarginMarket::priceCall::abi_decode_returns(&answer(2, "price()")?)
            .map_err(|error| format!("price(): {error}"))?;
        let current_nonce = match nonce.first() {
            Some(Ok(data)) => LiquidationSettlement::noncesCall::abi_decode_returns(data)
                .map_err(|error| format!("nonces(): {error}"))?,
            other => return Err(format!("nonces(): {other:?}")),
        };
        Ok::<_, String>(IntentFacts { head_block, liquidatable, max_repay, price, current_nonce })
    };
    let facts = read().await?;
    let refuted = !facts.liquidatable || facts.max_repay != intent.maxRepay || facts.price != intent.observedPrice;
    if refuted && intent.observedBlock.saturating_add(1) >= head_block {
        // A read at the chain's tip can race the next block: anvil answered a call at the
        // head's number from the block being mined for a moment (measured: one block in
        // thirteen under steady traffic), and an honest peer's claim then looked false. A
        // second read a moment later decides; a liar only buys itself a short wait.
        tokio::time::sleep(TIP_REREAD_DELAY).await;
        return read().await;
    }
    Ok(facts)
}

/// Wait before re-reading claims at the chain's tip that looked false (see
/// [`read_intent_facts`]).
pub const TIP_REREAD_DELAY: std::time::Duration = std::time::Duration::from_millis(250);
