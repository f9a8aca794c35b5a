// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {IMarginMarket} from "../../src/interfaces/IMarginMarket.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice liquidate(), as the settlement contract calls it, and the shortfall path behind it.
contract LiquidateTest is EngineHelper {
    function test_liquidate_only_by_settlement() public {
        _openUnhealthyPosition(borrower);
        vm.expectRevert(MarginEngine.OnlySettlement.selector);
        vm.prank(address(0xBAD));
        engine.liquidate(borrower, 1e18, receiver);
    }

    function test_liquidate_repays_debt_and_sends_collateral_with_bonus() public {
        _openUnhealthyPosition(borrower);
        vm.expectEmit(true, true, true, true, address(engine));
        emit MarginEngine.Liquidated(borrower, address(this), receiver, 1_600e18, 1_680e18 - 1, 13_400e18);
        vm.expectEmit(true, false, false, false, address(engine));
        emit IMarginMarket.PositionChanged(borrower);
        uint256 seizedValue = engine.liquidate(borrower, 1_600e18, receiver);
        assertEq(seizedValue, 1_680e18 - 1, "1,600 * 1.05, rounded down");
        assertEq(weth.balanceOf(receiver), 1.05e18 - 1, "1,680 of value at 1,600, rounded down");
        assertEq(engine.debtOf(borrower), 13_400e18, "debt reduced");
        assertEq(engine.collateralOf(borrower, address(weth)), 8.95e18 + 1, "collateral reduced");
    }

    function test_liquidate_seizes_the_same_share_of_every_collateral() public {
        _openMixedUnhealthyPosition(borrower);
        uint256 seizedValue = engine.liquidate(borrower, 10_000e18, receiver);
        assertEq(seizedValue, 4_271_186_440_677_966_101_694 + 6_406_779_661_016_949_152_542, "per-collateral bonus");
        assertEq(weth.balanceOf(receiver), 2_669_491_525_423_728_813, "WETH share");
        assertEq(wbtc.balanceOf(receiver), 133_474_576_271_186_440, "WBTC share");
        // Same fraction of each (to within rounding): 2.669 / 10 and 0.1335 / 0.5.
        assertEq(weth.balanceOf(receiver) / 1e14, wbtc.balanceOf(receiver) * 20 / 1e14, "pro-rata");
        assertEq(engine.debtOf(borrower), 27_000e18, "debt reduced");
    }

    function test_liquidate_rejects_healthy_account() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.NotLiquidatable.selector, borrower));
        engine.liquidate(borrower, 1e18, receiver);
    }

    function test_liquidate_rejects_repay_above_max() public {
        _openUnhealthyPosition(borrower);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.RepayAboveMax.selector, 7_500e18 + 1, 7_500e18));
        engine.liquidate(borrower, 7_500e18 + 1, receiver);
    }

    function test_liquidate_rejects_a_partial_close_that_would_lower_health() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1000e8); // under water: only closing the account helps
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.LiquidationWouldLowerHealth.selector, borrower));
        engine.liquidate(borrower, 1_000e18, receiver);
    }

    function test_liquidate_under_water_account_with_empty_fund_records_bad_debt() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1000e8); // collateral 10,000 against 15,000 debt
        uint256 repayAmount = engine.maxRepay(borrower);
        assertEq(repayAmount, 9_523_809_523_809_523_809_524, "ceil(10,000 / 1.05)");
        uint256 shortfall = 15_000e18 - repayAmount;

        vm.expectEmit(true, false, false, true, address(engine));
        emit MarginEngine.ShortfallAbsorbed(borrower, shortfall, 0);
        vm.expectEmit(true, false, false, true, address(engine));
        emit MarginEngine.BadDebtRecorded(borrower, shortfall, shortfall);
        engine.liquidate(borrower, repayAmount, receiver);

        assertEq(weth.balanceOf(receiver), 10e18, "all collateral seized");
        assertEq(engine.collateralOf(borrower, address(weth)), 0, "no collateral left");
        assertEq(engine.debtOf(borrower), 0, "remaining debt written off, not hidden");
        assertEq(engine.badDebt(), shortfall, "bad debt recorded");
        assertEq(engine.totalShortfall(), shortfall, "shortfall accounted");
    }

    function test_liquidate_draws_the_shortfall_from_the_insurance_fund_first() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1000e8);
        uint256 repayAmount = engine.maxRepay(borrower);
        uint256 shortfall = 15_000e18 - repayAmount;
        address fund = address(engine.insuranceFund());
        TestToken(debtAsset).mint(fund, 2_000e18); // premiums collected earlier
        uint256 engineBefore = _balanceOf(debtAsset, address(engine));

        engine.liquidate(borrower, repayAmount, receiver);

        assertEq(_balanceOf(debtAsset, fund), 0, "the fund paid what it had");
        assertEq(engine.totalCoveredByFund(), 2_000e18, "covered");
        assertEq(engine.badDebt(), shortfall - 2_000e18, "the rest recorded");
        assertEq(_balanceOf(debtAsset, address(engine)), engineBefore + repayAmount + 2_000e18, "liquidity restored");
    }

    function test_liquidate_fully_covered_shortfall_leaves_no_bad_debt() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1000e8);
        TestToken(debtAsset).mint(address(engine.insuranceFund()), 100_000e18);
        engine.liquidate(borrower, engine.maxRepay(borrower), receiver);
        assertEq(engine.badDebt(), 0, "no bad debt");
        assertEq(engine.totalShortfall(), engine.totalCoveredByFund(), "all of it covered");
    }

    function test_coverBadDebt_pays_recorded_bad_debt_from_a_replenished_fund() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1000e8);
        engine.liquidate(borrower, engine.maxRepay(borrower), receiver);
        uint256 recorded = engine.badDebt();
        TestToken(debtAsset).mint(address(engine.insuranceFund()), 1_000e18);

        vm.expectEmit(false, false, false, true, address(engine));
        emit MarginEngine.BadDebtCovered(1_000e18, recorded - 1_000e18);
        assertEq(engine.coverBadDebt(), 1_000e18, "paid what the fund holds");
        assertEq(engine.badDebt(), recorded - 1_000e18, "bad debt reduced");
        assertEq(engine.totalShortfall(), engine.totalCoveredByFund() + engine.badDebt(), "accounting holds");
    }

    function test_liquidate_continues_on_the_lowest_price_while_feeds_disagree() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        wethFeedA.setPrice(1600e8); // feed B still says 2000: 25% apart
        assertEq(engine.price(address(weth)), 1600e18, "conservative price");
        assertTrue(engine.isLiquidatable(borrower), "liquidatable on the conservative price");
        engine.liquidate(borrower, 1_600e18, receiver);
        assertEq(weth.balanceOf(receiver), 1.05e18 - 1, "seized at the conservative price");
    }

    function test_liquidate_records_the_observation_in_the_router() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        vm.warp(block.timestamp + 60);
        _setWethPrice(1600e8);
        engine.liquidate(borrower, 1_000e18, receiver);
        (uint128 recordedPrice, uint40 observedAt,) = router.stateOf(address(weth));
        assertEq(recordedPrice, 1600e18, "price recorded");
        assertEq(observedAt, block.timestamp, "observation time recorded");
    }

    function test_liquidate_pulls_exactly_the_repay_from_the_settlement() public {
        _openUnhealthyPosition(borrower);
        uint256 before = TestToken(debtAsset).balanceOf(address(this));
        engine.liquidate(borrower, 2_000e18, receiver);
        assertEq(before - TestToken(debtAsset).balanceOf(address(this)), 2_000e18, "pulled exactly the repay");
    }

    function testFuzz_liquidate_never_lowers_health_unless_it_closes_the_account(
        uint256 wethPriceSeed,
        uint256 wbtcPriceSeed,
        uint256 repaySeed
    ) public {
        _openMixedUnhealthyPosition(borrower);
        _setWethPrice(int256(bound(wethPriceSeed, 800e8, 1_800e8)));
        _setWbtcPrice(int256(bound(wbtcPriceSeed, 20_000e8, 54_000e8)));
        uint256 maxRepayAmount = engine.maxRepay(borrower);
        if (maxRepayAmount == 0) return;
        uint256 repayAmount = bound(repaySeed, 1e15, maxRepayAmount);
        (uint256 collateralBefore,, uint256 requirementBefore) = engine.accountHealth(borrower);
        uint256 preview = engine.previewSeize(borrower, repayAmount);

        try this.liquidateFor(borrower, repayAmount) returns (uint256 seizedValue) {
            assertEq(seizedValue, preview, "previewSeize is exact");
            assertLe(seizedValue, repayAmount * 108 / 100, "never more than the largest bonus");
            (uint256 collateralAfter, uint256 debtAfter, uint256 requirementAfter) = engine.accountHealth(borrower);
            if (debtAfter > 0) {
                assertGe(collateralAfter * requirementBefore, collateralBefore * requirementAfter, "health kept");
            }
            assertEq(weth.balanceOf(receiver) + engine.collateralOf(borrower, address(weth)), 10e18, "WETH conserved");
            assertEq(wbtc.balanceOf(receiver) + engine.collateralOf(borrower, address(wbtc)), 0.5e18, "WBTC conserved");
        } catch (bytes memory reason) {
            // Only a partial close in the full-close region may be refused.
            assertEq(
                keccak256(reason),
                keccak256(abi.encodeWithSelector(MarginEngine.LiquidationWouldLowerHealth.selector, borrower)),
                "only the health guard may refuse"
            );
            assertLt(repayAmount, maxRepayAmount, "the maximum repay is always accepted");
        }
    }

    /// @dev External so the fuzz test can catch its revert.
    function liquidateFor(address account, uint256 repayAmount) external returns (uint256) {
        require(msg.sender == address(this), "self only");
        return engine.liquidate(account, repayAmount, receiver);
    }

    // ------------------------------------------------------------------ solvency and dust

    function test_liquidate_full_close_of_a_solvent_account_leaves_no_bad_debt() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1520e8); // 15,200 of collateral covers the 15,000 debt, but not debt plus a 5% bonus
        uint256 repayAmount = engine.maxRepay(borrower);
        assertEq(repayAmount, 15_000e18, "the whole debt buys all the collateral");
        uint256 seizedValue = engine.liquidate(borrower, repayAmount, receiver);
        assertEq(seizedValue, 15_200e18, "all of it: the bonus is what the collateral holds beyond the debt");
        assertEq(weth.balanceOf(receiver), 10e18, "all collateral seized");
        assertEq(engine.debtOf(borrower), 0, "closed");
        assertEq(engine.totalShortfall(), 0, "no shortfall");
        assertEq(engine.badDebt(), 0, "no bad debt");
    }

    function testFuzz_liquidate_never_creates_bad_debt_while_collateral_covers_debt(
        uint256 wethPriceSeed,
        uint256 wbtcPriceSeed
    ) public {
        _openMixedUnhealthyPosition(borrower); // 37,000 of debt
        _setWethPrice(int256(bound(wethPriceSeed, 1_000e8, 1_800e8)));
        _setWbtcPrice(int256(bound(wbtcPriceSeed, 20_000e8, 54_000e8)));
        uint256 marketValue = weth.balanceOf(address(engine)) * engine.price(address(weth)) / 1e18
            + wbtc.balanceOf(address(engine)) * engine.price(address(wbtc)) / 1e18;
        uint256 maxRepayAmount = engine.maxRepay(borrower);
        if (maxRepayAmount == 0) return;
        engine.liquidate(borrower, maxRepayAmount, receiver);
        if (marketValue >= 37_000e18) assertEq(engine.totalShortfall(), 0, "collateral covered the debt");
    }

    function test_liquidate_ignores_dust_of_a_collateral_whose_feeds_lapsed() public {
        _deposit(borrower, wbtc, 1_000); // a few wei of WBTC
        _openPosition(borrower, weth, 10e18, 15_000e18);
        vm.warp(block.timestamp + MAX_STALENESS + 1); // every WBTC round is now stale
        _setWethPrice(1600e8); // WETH stays priced and falls
        assertTrue(engine.isLiquidatable(borrower), "liquidatable against the priced collateral");
        assertEq(engine.maxRepay(borrower), 7_500e18, "close factor");
        engine.liquidate(borrower, 7_500e18, receiver);
        assertEq(engine.debtOf(borrower), 7_500e18, "liquidated");
        assertEq(weth.balanceOf(receiver), 4.921875e18 - 1, "seized from the priced collateral");
        assertEq(engine.collateralOf(borrower, address(wbtc)), 1_000, "the unpriced dust stays");
    }
}
