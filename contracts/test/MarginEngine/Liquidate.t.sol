// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {IMarginMarket} from "../../src/interfaces/IMarginMarket.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice liquidate(), as the settlement contract calls it.
contract LiquidateTest is EngineHelper {
    function test_liquidate_only_by_settlement() public {
        _openUnhealthyPosition(borrower);
        vm.expectRevert(MarginEngine.OnlySettlement.selector);
        vm.prank(address(0xBAD));
        engine.liquidate(borrower, 1e18, receiver);
    }

    function test_liquidate_repays_debt_and_sends_collateral_with_bonus() public {
        _openUnhealthyPosition(borrower);
        vm.expectEmit(true, false, false, false, address(engine));
        emit IMarginMarket.PositionChanged(borrower);
        uint256 seizedValue = engine.liquidate(borrower, 1_600e18, receiver);
        assertEq(seizedValue, 1_680e18, "1,600 * 1.05");
        assertEq(collateralToken.balanceOf(receiver), 1.05e18, "1,680 of value at 1,600");
        assertEq(engine.debtOf(borrower), 13_400e18, "debt reduced");
        assertEq(engine.collateralOf(borrower), 8.95e18, "collateral reduced");
    }

    function test_liquidate_rejects_healthy_account() public {
        _openPosition(borrower, 10e18, 15_000e18);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.NotLiquidatable.selector, borrower));
        engine.liquidate(borrower, 1e18, receiver);
    }

    function test_liquidate_rejects_repay_above_max() public {
        _openUnhealthyPosition(borrower);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.RepayAboveMax.selector, 7_500e18 + 1, 7_500e18));
        engine.liquidate(borrower, 7_500e18 + 1, receiver);
    }

    function test_liquidate_under_water_account_seizes_all_and_realizes_bad_debt() public {
        _openPosition(borrower, 10e18, 15_000e18);
        feed.setPrice(1000e8); // collateral 10,000 against 15,000 debt
        uint256 repayAmount = engine.maxRepay(borrower);
        assertEq(repayAmount, 9_523_809_523_809_523_809_524, "ceil(10,000 / 1.05)");

        vm.expectEmit(true, false, false, true, address(engine));
        emit MarginEngine.BadDebtRealized(borrower, 15_000e18 - repayAmount);
        engine.liquidate(borrower, repayAmount, receiver);

        assertEq(collateralToken.balanceOf(receiver), 10e18, "all collateral seized");
        assertEq(engine.collateralOf(borrower), 0, "no collateral left");
        assertEq(engine.debtOf(borrower), 0, "remaining debt written off, not hidden");
        assertEq(engine.badDebt(), 15_000e18 - repayAmount, "bad debt accounted");
    }

    function test_liquidate_pulls_exactly_the_repay_from_the_settlement() public {
        _openUnhealthyPosition(borrower);
        uint256 before = TestToken(debtAsset).balanceOf(address(this));
        engine.liquidate(borrower, 2_000e18, receiver);
        assertEq(before - TestToken(debtAsset).balanceOf(address(this)), 2_000e18, "pulled exactly the repay");
    }
}
