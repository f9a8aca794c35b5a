// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice Drives prices, time, flags, committee-signed settlements and open liquidations in random
/// order for the invariant run, and keeps ghost counters the invariants compare against.
contract SettlementHandler is Test {
    LiquidationSettlement internal immutable settlement;
    MarginEngine internal immutable engine;
    bytes32 internal immutable marketId;
    address internal immutable executor;
    address internal immutable keeper;
    MockPriceFeed[4] internal feeds; // WETH A, WETH B, WBTC A, WBTC B
    uint256[] internal attesterKeys;
    address[] public accounts;

    mapping(address => uint256) public liquidationCount;
    mapping(address => uint256) public lastNonce;
    uint256 public liquidations;
    bool public nonceWentBackwards;
    bool public healthLowered;
    /// @notice A liquidation left a shortfall although the collateral's market value covered the debt.
    bool public solventShortfall;
    uint256 public refusedPartialCloses;
    bytes public unexpectedRevert;

    constructor(
        LiquidationSettlement settlement_,
        MarginEngine engine_,
        bytes32 marketId_,
        address executor_,
        address keeper_,
        MockPriceFeed[4] memory feeds_,
        uint256[] memory attesterKeys_,
        address[] memory accounts_
    ) {
        settlement = settlement_;
        engine = engine_;
        marketId = marketId_;
        executor = executor_;
        keeper = keeper_;
        feeds = feeds_;
        attesterKeys = attesterKeys_;
        accounts = accounts_;
    }

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    /// @dev Moves one asset's two feeds together, or one feed alone (a disagreement or a wick).
    function setPrice(uint256 assetSeed, uint256 priceSeed, bool oneFeedOnly) external {
        bool isWeth = assetSeed % 2 == 0;
        int256 answer = isWeth ? int256(bound(priceSeed, 500e8, 2_500e8)) : int256(bound(priceSeed, 15_000e8, 75_000e8));
        uint256 first = isWeth ? 0 : 2;
        feeds[first].setPrice(answer);
        if (!oneFeedOnly) feeds[first + 1].setPrice(answer);
    }

    function advanceTime(uint256 secondsSeed) external {
        vm.warp(block.timestamp + bound(secondsSeed, 1, 10 minutes));
        for (uint256 i = 0; i < 4; ++i) {
            feeds[i].setPrice(feeds[i].answer()); // feeds keep their heartbeat
        }
    }

    function flag(uint256 accountSeed) external {
        address account = accounts[accountSeed % accounts.length];
        if (!engine.isLiquidatable(account)) return;
        settlement.flagUnhealthy(marketId, account);
    }

    function settle(uint256 accountSeed, uint256 repaySeed, uint256 premiumSeed) external {
        address account = accounts[accountSeed % accounts.length];
        if (!engine.isLiquidatable(account)) return;
        uint256 repayAmount = _repay(repaySeed, engine.maxRepay(account));
        uint256 nonce = settlement.nonces(marketId, account);
        LiquidationSettlement.Award memory award = LiquidationSettlement.Award({
            intentId: settlement.intentIdOf(marketId, account, nonce),
            marketId: marketId,
            account: account,
            nonce: nonce,
            executor: executor,
            repayAmount: repayAmount,
            premium: bound(premiumSeed, 10e18, 1_000e18),
            deadline: block.timestamp
        });
        bytes32 digest = settlement.hashAward(award);
        bytes[] memory signatures = new bytes[](2);
        for (uint256 i = 0; i < 2; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(attesterKeys[i], digest);
            signatures[i] = abi.encodePacked(r, s, v);
        }
        (uint256 collateralBefore,, uint256 requirementBefore) = engine.accountHealth(account);
        _beforeLiquidation(account);
        vm.prank(executor);
        try settlement.settle(award, signatures) {
            _afterLiquidation(account, collateralBefore, requirementBefore);
        } catch (bytes memory reason) {
            _expectedRefusal(reason);
        }
    }

    function liquidateOpen(uint256 accountSeed, uint256 repaySeed) external {
        address account = accounts[accountSeed % accounts.length];
        if (!settlement.isOpenLiquidatable(marketId, account)) return;
        uint256 repayAmount = _repay(repaySeed, engine.maxRepay(account));
        (uint256 collateralBefore,, uint256 requirementBefore) = engine.accountHealth(account);
        _beforeLiquidation(account);
        vm.prank(keeper);
        try settlement.liquidateOpen(marketId, account, repayAmount) {
            _afterLiquidation(account, collateralBefore, requirementBefore);
        } catch (bytes memory reason) {
            _expectedRefusal(reason);
        }
    }

    /// @dev The only refusal a liquidation within maxRepay may meet: a partial close where only a
    /// full close helps (the engine's health guard). Anything else is a bug the invariant reports.
    function _expectedRefusal(bytes memory reason) private {
        // forge-lint: disable-next-line(unsafe-typecast)
        if (bytes4(reason) == MarginEngine.LiquidationWouldLowerHealth.selector) {
            refusedPartialCloses += 1;
        } else {
            unexpectedRevert = reason;
        }
    }

    /// @dev Half the time the maximum (what bots do), otherwise anything from 0.001 up to it.
    function _repay(uint256 seed, uint256 maxRepayAmount) private pure returns (uint256) {
        if (seed % 2 == 0 || maxRepayAmount <= 1e15) return maxRepayAmount;
        return bound(seed, 1e15, maxRepayAmount);
    }

    uint256 private shortfallBefore;
    bool private coveredBefore;

    /// @dev Notes whether the collateral's market value (at the price the liquidation will use) covers
    /// the debt, and the shortfall so far.
    function _beforeLiquidation(address account) private {
        address[] memory assets = engine.collateralAssets();
        uint256 marketValue;
        for (uint256 i = 0; i < assets.length; ++i) {
            uint256 units = engine.collateralOf(account, assets[i]);
            if (units == 0) continue;
            marketValue += units * engine.price(assets[i]) / engine.priceScaleOf(assets[i]);
        }
        coveredBefore = marketValue >= engine.debtOf(account);
        shortfallBefore = engine.totalShortfall();
    }

    function _afterLiquidation(address account, uint256 collateralBefore, uint256 requirementBefore) private {
        if (coveredBefore && engine.totalShortfall() > shortfallBefore) solventShortfall = true;
        liquidationCount[account] += 1;
        liquidations += 1;
        uint256 nonce = settlement.nonces(marketId, account);
        if (nonce <= lastNonce[account]) nonceWentBackwards = true;
        lastNonce[account] = nonce;
        (uint256 collateralAfter, uint256 debtAfter, uint256 requirementAfter) = engine.accountHealth(account);
        if (debtAfter > 0 && collateralAfter * requirementBefore < collateralBefore * requirementAfter) {
            healthLowered = true;
        }
    }
}

/// @notice What must hold after any sequence of price moves, flags and liquidations by either path.
contract SettlementInvariantTest is SettlementHelper {
    SettlementHandler internal handler;
    address internal keeper = address(0x4EE9);
    uint256 internal premiumsPaid;

    function setUp() public override {
        super.setUp(); // opens the standard unhealthy `borrower`
        _setWethPrice(2000e8);
        address fund = address(engine.insuranceFund());
        vm.prank(marketAdmin);
        settlement.updateMarket(marketId, fund, RESERVE_PREMIUM); // premiums feed the insurance fund
        _openPosition(address(0xA1), weth, 5e18, 7_000e18);
        _deposit(address(0xA2), weth, 10e18);
        _openPosition(address(0xA2), wbtc, 0.5e18, 30_000e18);
        _openPosition(address(0xA3), wbtc, 1e18, 40_000e18);
        TestToken(debtAsset).mint(keeper, type(uint128).max);
        _approve(debtAsset, keeper, address(settlement), type(uint256).max);

        address[] memory accounts = new address[](4);
        accounts[0] = borrower;
        accounts[1] = address(0xA1);
        accounts[2] = address(0xA2);
        accounts[3] = address(0xA3);
        MockPriceFeed[4] memory feeds = [wethFeedA, wethFeedB, wbtcFeedA, wbtcFeedB];
        handler = new SettlementHandler(settlement, engine, marketId, executor, keeper, feeds, attesterKeys, accounts);
        targetContract(address(handler));
    }

    function invariant_settlement_holds_no_tokens_and_no_allowance() public view {
        assertEq(_balanceOf(debtAsset, address(settlement)), 0, "no debt asset stuck");
        assertEq(weth.balanceOf(address(settlement)), 0, "no WETH stuck");
        assertEq(wbtc.balanceOf(address(settlement)), 0, "no WBTC stuck");
        assertEq(TestToken(debtAsset).allowance(address(settlement), address(engine)), 0, "no allowance left");
    }

    function invariant_nonces_only_grow_and_count_liquidations() public view {
        assertFalse(handler.nonceWentBackwards(), "a nonce never decreases");
        for (uint256 i = 0; i < handler.accountCount(); ++i) {
            address account = handler.accounts(i);
            assertEq(settlement.nonces(marketId, account), handler.liquidationCount(account), "nonce == liquidations");
        }
    }

    function invariant_bad_debt_is_covered_or_recorded() public view {
        uint256 totalDebt;
        for (uint256 i = 0; i < handler.accountCount(); ++i) {
            address account = handler.accounts(i);
            bool hasCollateral =
                engine.collateralOf(account, address(weth)) > 0 || engine.collateralOf(account, address(wbtc)) > 0;
            if (!hasCollateral) assertEq(engine.debtOf(account), 0, "debt without collateral");
            totalDebt += engine.debtOf(account);
        }
        // Every unit lent is in the engine, still owed, or recorded as bad debt (shortfalls the fund
        // paid are back in the engine).
        assertEq(
            _balanceOf(debtAsset, address(engine)) + totalDebt + engine.badDebt(), ENGINE_LIQUIDITY, "debt accounting"
        );
        assertEq(
            engine.totalShortfall(), engine.totalCoveredByFund() + engine.badDebt(), "shortfall = covered + recorded"
        );
    }

    function invariant_token_balances_reconcile() public view {
        // Collateral: the engine holds exactly what accounts are credited with.
        address[] memory accounts = new address[](handler.accountCount());
        uint256 wethCredited;
        uint256 wbtcCredited;
        for (uint256 i = 0; i < accounts.length; ++i) {
            address account = handler.accounts(i);
            wethCredited += engine.collateralOf(account, address(weth));
            wbtcCredited += engine.collateralOf(account, address(wbtc));
        }
        assertEq(weth.balanceOf(address(engine)), wethCredited, "WETH held == WETH credited");
        assertEq(wbtc.balanceOf(address(engine)), wbtcCredited, "WBTC held == WBTC credited");
    }

    function invariant_liquidations_within_max_repay_succeed() public view {
        assertEq(
            handler.unexpectedRevert().length, 0, "a liquidation reverted for a reason other than the health guard"
        );
    }

    function invariant_no_bad_debt_while_collateral_covers_debt() public view {
        assertFalse(handler.solventShortfall(), "a solvent account's liquidation left a shortfall");
    }

    function invariant_liquidation_never_lowers_health_unless_it_closes() public view {
        assertFalse(handler.healthLowered(), "health ratio fell on a liquidation that left debt");
    }
}
