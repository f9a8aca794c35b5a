// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {IMarginMarket} from "../../src/interfaces/IMarginMarket.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice deposit, withdraw, borrow, repay and the admin's one-time settlement wiring.
contract AccountTest is EngineHelper {
    function test_deposit_credits_collateral_and_emits_PositionChanged() public {
        collateralToken.mint(borrower, 3e18);
        vm.startPrank(borrower);
        collateralToken.approve(address(engine), 3e18);
        vm.expectEmit(true, false, false, false, address(engine));
        emit IMarginMarket.PositionChanged(borrower);
        engine.deposit(3e18);
        vm.stopPrank();
        assertEq(engine.collateralOf(borrower), 3e18, "collateral credited");
        assertEq(collateralToken.balanceOf(address(engine)), 3e18, "engine holds the collateral");
    }

    function test_borrow_within_initial_margin_transfers_debt_asset() public {
        _openPosition(borrower, 10e18, 16_000e18); // 20,000 of collateral / 1.25 = 16,000
        assertEq(engine.debtOf(borrower), 16_000e18, "debt recorded");
        assertEq(TestToken(debtAsset).balanceOf(borrower), 16_000e18, "borrower receives the loan");
    }

    function test_borrow_rejects_position_beyond_initial_margin() public {
        _openPosition(borrower, 10e18, 0);
        vm.expectRevert(
            abi.encodeWithSelector(MarginEngine.BelowInitialMargin.selector, borrower, 20_000e18, 20_000e18 + 2)
        );
        vm.prank(borrower);
        engine.borrow(16_000e18 + 1);
    }

    function test_borrow_rejects_more_than_engine_liquidity() public {
        _openPosition(borrower, 10_000e18, 0);
        vm.expectRevert(
            abi.encodeWithSelector(MarginEngine.InsufficientLiquidity.selector, ENGINE_LIQUIDITY, ENGINE_LIQUIDITY + 1)
        );
        vm.prank(borrower);
        engine.borrow(ENGINE_LIQUIDITY + 1);
    }

    function test_borrow_rejects_stale_price() public {
        _openPosition(borrower, 10e18, 0);
        vm.warp(block.timestamp + engine.MAX_PRICE_AGE() + 1);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.StalePrice.selector, START_TIME, block.timestamp));
        vm.prank(borrower);
        engine.borrow(1e18);
    }

    function test_withdraw_rejects_leaving_account_below_initial_margin() public {
        _openPosition(borrower, 10e18, 15_000e18); // needs 18,750 of collateral value = 9.375
        vm.prank(borrower);
        engine.withdraw(0.625e18);
        assertEq(engine.collateralOf(borrower), 9.375e18, "withdrew down to the initial margin");
        vm.expectRevert();
        vm.prank(borrower);
        engine.withdraw(1);
    }

    function test_withdraw_all_collateral_without_debt() public {
        _openPosition(borrower, 10e18, 0);
        vm.prank(borrower);
        engine.withdraw(10e18);
        assertEq(collateralToken.balanceOf(borrower), 10e18, "collateral returned");
    }

    function test_repay_reduces_debt_and_rejects_more_than_owed() public {
        _openPosition(borrower, 10e18, 1_000e18);
        vm.startPrank(borrower);
        TestToken(debtAsset).approve(address(engine), type(uint256).max);
        engine.repay(400e18);
        assertEq(engine.debtOf(borrower), 600e18, "debt reduced");
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.RepayExceedsDebt.selector, borrower, 600e18, 600e18 + 1));
        engine.repay(600e18 + 1);
        vm.stopPrank();
    }

    function test_setSettlement_only_by_admin_and_only_once() public {
        MarginEngine fresh = new MarginEngine(
            marketAdmin,
            debtAsset,
            address(collateralToken),
            address(feed),
            MAINTENANCE_RATIO,
            LIQUIDATION_BONUS,
            CLOSE_FACTOR
        );
        vm.expectRevert(MarginEngine.OnlyAdmin.selector);
        fresh.setSettlement(address(this));
        vm.startPrank(marketAdmin);
        fresh.setSettlement(address(this));
        vm.expectRevert(MarginEngine.SettlementAlreadySet.selector);
        fresh.setSettlement(address(0x1234));
        vm.stopPrank();
    }

    function test_constructor_rejects_maintenance_not_above_one_plus_bonus() public {
        vm.expectRevert(MarginEngine.InvalidRiskParameters.selector);
        new MarginEngine(
            marketAdmin, debtAsset, address(collateralToken), address(feed), 1.05e18, 0.05e18, CLOSE_FACTOR
        );
    }
}
