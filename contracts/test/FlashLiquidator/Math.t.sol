// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {FlashLiquidator} from "../../src/solvers/FlashLiquidator.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {IUniswapV2Factory} from "../../src/solvers/IUniswapV2.sol";

/// @notice The liquidator's Uniswap V2 math against the pair's own acceptance rule: the fee-adjusted
/// invariant `(1000 b0 - 3 in0)(1000 b1 - 3 in1) >= 1000^2 r0 r1`.
contract FlashLiquidatorMathTest is Test {
    FlashLiquidator internal flash =
        new FlashLiquidator(address(this), LiquidationSettlement(address(1)), IUniswapV2Factory(address(2)));

    /// @dev Whether the pair accepts `collateralIn` + `debtIn` for `borrowed` debt out.
    function _accepts(uint256 rc, uint256 rd, uint256 borrowed, uint256 collateralIn, uint256 debtIn)
        internal
        pure
        returns (bool)
    {
        uint256 adjustedCollateral = rc * 1000 + collateralIn * 997;
        uint256 adjustedDebt = (rd - borrowed + debtIn) * 1000 - debtIn * 3;
        return adjustedCollateral * adjustedDebt >= rc * rd * 1_000_000;
    }

    function testFuzz_debtToComplete_is_the_least_top_up_the_pair_accepts(
        uint256 rc,
        uint256 rd,
        uint256 borrowed,
        uint256 collateralIn
    ) public view {
        rc = bound(rc, 1e3, type(uint112).max / 4);
        rd = bound(rd, 1e3, type(uint112).max / 4);
        borrowed = bound(borrowed, 1, rd - 1);
        uint256 full = flash.getAmountIn(borrowed, rc, rd);
        collateralIn = bound(collateralIn, 0, full);
        uint256 debtIn = flash.debtToComplete(rc, rd, borrowed, collateralIn);
        assertTrue(_accepts(rc, rd, borrowed, collateralIn, debtIn), "the top-up repays the flash swap");
        if (debtIn > 0) {
            assertFalse(_accepts(rc, rd, borrowed, collateralIn, debtIn - 1), "and is the least that does");
        }
    }

    function testFuzz_getAmountIn_is_enough_and_getAmountOut_never_too_much(uint256 rc, uint256 rd, uint256 amount)
        public
        view
    {
        rc = bound(rc, 1e3, type(uint112).max / 4);
        rd = bound(rd, 1e3, type(uint112).max / 4);
        uint256 borrowed = bound(amount, 1, rd - 1);
        assertTrue(_accepts(rc, rd, borrowed, flash.getAmountIn(borrowed, rc, rd), 0), "getAmountIn repays");
        uint256 collateralIn = bound(amount, 1, type(uint112).max / 4);
        uint256 out = flash.getAmountOut(collateralIn, rc, rd);
        if (out > 0) assertTrue(_accepts(rc, rd, out, collateralIn, 0), "getAmountOut is accepted");
    }

    function test_getAmountOut_matches_a_worked_example() public view {
        // 1 ETH into 100 ETH / 200,000 USD: 1 * 0.997 * 200,000 / (100 + 0.997) = 1974.3160687941225977
        assertEq(flash.getAmountOut(1e18, 100e18, 200_000e18), 1974316068794122597700, "Uniswap's formula");
        assertEq(flash.getAmountOut(0, 100e18, 200_000e18), 0, "nothing in, nothing out");
    }
}
