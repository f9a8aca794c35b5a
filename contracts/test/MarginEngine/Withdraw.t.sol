// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";

contract WithdrawTest is EngineHelper {
    function test_withdraw_down_to_the_initial_margin_and_no_further() public {
        _openPosition(borrower, weth, 10e18, 15_000e18); // needs 18,750 of collateral value = 9.375 WETH
        vm.prank(borrower);
        engine.withdraw(address(weth), 0.625e18);
        assertEq(engine.collateralOf(borrower, address(weth)), 9.375e18, "withdrew down to the initial margin");
        vm.expectRevert(
            abi.encodeWithSelector(MarginEngine.BelowInitialMargin.selector, borrower, 18_750e18 - 2e12, 18_750e18)
        );
        vm.prank(borrower);
        engine.withdraw(address(weth), 1e9);
    }

    function test_withdraw_all_collateral_without_debt() public {
        _deposit(borrower, weth, 10e18);
        vm.expectEmit(true, true, false, true, address(engine));
        emit MarginEngine.Withdrawn(borrower, address(weth), 10e18);
        vm.prank(borrower);
        engine.withdraw(address(weth), 10e18);
        assertEq(weth.balanceOf(borrower), 10e18, "collateral returned");
    }

    function test_withdraw_without_debt_needs_no_price() public {
        _deposit(borrower, weth, 10e18);
        vm.warp(block.timestamp + MAX_STALENESS + 1); // every feed stale
        vm.prank(borrower);
        engine.withdraw(address(weth), 10e18);
        assertEq(weth.balanceOf(borrower), 10e18, "an account without debt can always leave");
    }

    function test_withdraw_with_debt_halts_on_an_anomaly_of_the_withdrawn_asset() public {
        _deposit(borrower, weth, 10e18);
        _openPosition(borrower, wbtc, 1e18, 1_000e18);
        wethFeedA.setPrice(2500e8);
        vm.expectRevert(
            abi.encodeWithSelector(MarginEngine.OracleAnomaly.selector, address(weth), router.FLAG_DEVIATION())
        );
        vm.prank(borrower);
        engine.withdraw(address(weth), 10e18); // even all of it: the breaker looks before the withdrawal
    }

    function test_withdraw_rejects_more_than_deposited() public {
        _deposit(borrower, weth, 1e18);
        vm.expectRevert(
            abi.encodeWithSelector(
                MarginEngine.InsufficientCollateral.selector, borrower, address(weth), 1e18, 1e18 + 1
            )
        );
        vm.prank(borrower);
        engine.withdraw(address(weth), 1e18 + 1);
    }
}
