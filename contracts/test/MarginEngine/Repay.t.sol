// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

contract RepayTest is EngineHelper {
    function test_repay_reduces_debt_and_rejects_more_than_owed() public {
        _openPosition(borrower, weth, 10e18, 1_000e18);
        vm.startPrank(borrower);
        TestToken(debtAsset).approve(address(engine), type(uint256).max);
        engine.repay(400e18);
        assertEq(engine.debtOf(borrower), 600e18, "debt reduced");
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.RepayExceedsDebt.selector, borrower, 600e18, 600e18 + 1));
        engine.repay(600e18 + 1);
        vm.stopPrank();
    }

    function test_repay_works_while_the_oracle_is_anomalous() public {
        _openPosition(borrower, weth, 10e18, 1_000e18);
        wethFeedA.setPrice(500e8);
        vm.startPrank(borrower);
        TestToken(debtAsset).approve(address(engine), type(uint256).max);
        engine.repay(1_000e18);
        vm.stopPrank();
        assertEq(engine.debtOf(borrower), 0, "repaying only raises health");
    }
}
