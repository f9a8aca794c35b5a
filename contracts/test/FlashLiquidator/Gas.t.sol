// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FlashLiquidatorHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice Gas of `FlashLiquidator.liquidate` (flash swap + 2-of-3 settle + sale + repayment), recorded
/// in snapshots/ by `forge test`. Measures; asserts nothing about speed.
contract FlashLiquidatorGasTest is FlashLiquidatorHelper {
    function setUp() public override {
        super.setUp();
        // The owner already holds the debt asset and WETH, as in steady state.
        TestToken(debtAsset).mint(solver, 1);
        weth.mint(solver, 1);
    }

    function test_gas_flash_liquidate_one_collateral() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        uint256 borrowAmount = _quote(wethPair, address(weth), _seizedWeth(REPAY));
        bytes[] memory signatures = _signatures(award, 2);
        vm.prank(solver);
        flash.liquidate(award, signatures, address(wethPair), borrowAmount, 1);
        vm.snapshotGasLastCall("flash liquidate, one collateral");
    }

    function test_gas_flash_liquidate_two_collaterals() public {
        _setWethPrice(2000e8);
        _setWbtcPrice(60_000e8);
        borrower = address(0xA2);
        _deposit(borrower, weth, 10e18);
        _openPosition(borrower, wbtc, 0.5e18, 37_000e18);
        _setWethPrice(1600e8);
        _setWbtcPrice(48_000e8);
        LiquidationSettlement.Award memory award = _award(18_500e18, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.prank(solver);
        flash.liquidate(award, signatures, address(wethPair), award.repayAmount + award.premium, 1);
        vm.snapshotGasLastCall("flash liquidate, two collaterals");
    }
}
