// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {IMarginMarket} from "../../src/interfaces/IMarginMarket.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";

contract DepositTest is EngineHelper {
    function test_deposit_credits_collateral_and_emits_PositionChanged() public {
        weth.mint(borrower, 3e18);
        vm.startPrank(borrower);
        weth.approve(address(engine), 3e18);
        vm.expectEmit(true, true, false, true, address(engine));
        emit MarginEngine.Deposited(borrower, address(weth), 3e18);
        vm.expectEmit(true, false, false, false, address(engine));
        emit IMarginMarket.PositionChanged(borrower);
        engine.deposit(address(weth), 3e18);
        vm.stopPrank();
        assertEq(engine.collateralOf(borrower, address(weth)), 3e18, "collateral credited");
        assertEq(weth.balanceOf(address(engine)), 3e18, "engine holds the collateral");
    }

    function test_deposit_keeps_each_collateral_separately() public {
        _deposit(borrower, weth, 2e18);
        _deposit(borrower, wbtc, 1e18);
        assertEq(engine.collateralOf(borrower, address(weth)), 2e18, "WETH");
        assertEq(engine.collateralOf(borrower, address(wbtc)), 1e18, "WBTC");
    }

    function test_deposit_rejects_unlisted_asset_and_zero() public {
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.UnknownAsset.selector, debtAsset));
        engine.deposit(debtAsset, 1);
        vm.expectRevert(MarginEngine.ZeroAmount.selector);
        engine.deposit(address(weth), 0);
    }

    function test_deposit_works_while_the_oracle_is_anomalous() public {
        wethFeedA.setPrice(3000e8); // feeds disagree by 50%
        _deposit(borrower, weth, 1e18);
        assertEq(engine.collateralOf(borrower, address(weth)), 1e18, "deposits only raise health");
    }
}
