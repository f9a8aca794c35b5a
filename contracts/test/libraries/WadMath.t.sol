// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {WadMath} from "../../src/libraries/WadMath.sol";

/// @notice Full-precision mulDiv and the exact cross-multiplied comparison the health checks use.
contract WadMathTest is Test {
    function testFuzz_mulDiv_matches_plain_arithmetic_when_the_product_fits(uint128 x, uint128 y, uint256 d) public pure {
        d = bound(d, 1, type(uint256).max);
        uint256 product = uint256(x) * uint256(y);
        assertEq(WadMath.mulDivDown(x, y, d), product / d, "floor");
        uint256 up = product == 0 ? 0 : (product - 1) / d + 1;
        assertEq(WadMath.mulDivUp(x, y, d), up, "ceil");
    }

    function testFuzz_mulDiv_is_exact_beyond_256_bits(uint256 x, uint256 y) public pure {
        x = bound(x, 1, type(uint256).max);
        y = bound(y, 1, type(uint256).max);
        // (x * y) / y == x and (x * y) / x == y, although x * y overflows 256 bits.
        assertEq(WadMath.mulDivDown(x, y, y), x, "x * y / y");
        assertEq(WadMath.mulDivDown(x, y, x), y, "x * y / x");
        assertEq(WadMath.mulDivUp(x, y, y), x, "exact: no rounding");
    }

    function test_mulDiv_of_large_values() public pure {
        assertEq(WadMath.mulDivDown(2 ** 255, 4, 8), 2 ** 254, "2^257 / 8");
        assertEq(WadMath.mulDivDown(1e41, 1e36, 1e18), 1e59, "a capped holding at the largest price");
        assertEq(WadMath.mulDivUp(type(uint256).max, type(uint256).max, type(uint256).max), type(uint256).max, "max");
    }

    function test_mulDiv_reverts_only_when_the_result_overflows() public {
        Harness harness = new Harness();
        vm.expectRevert(WadMath.MulDivOverflow.selector);
        harness.mulDivDown(type(uint256).max, 2, 1);
        vm.expectRevert(WadMath.MulDivOverflow.selector);
        harness.mulDivDown(1, 1, 0);
    }

    function testFuzz_mulLessThan_is_exact(uint256 a, uint256 b, uint256 c, uint256 d) public pure {
        a = bound(a, 0, type(uint128).max);
        b = bound(b, 0, type(uint128).max);
        c = bound(c, 0, type(uint128).max);
        d = bound(d, 0, type(uint128).max);
        assertEq(WadMath.mulLessThan(a, b, c, d), a * b < c * d, "same as plain arithmetic");
    }

    function test_mulLessThan_beyond_256_bits() public pure {
        assertTrue(WadMath.mulLessThan(type(uint256).max, 2, type(uint256).max, 3), "2 max < 3 max");
        assertFalse(WadMath.mulLessThan(type(uint256).max, 3, type(uint256).max, 3), "equal");
    }
}

contract Harness {
    function mulDivDown(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return WadMath.mulDivDown(x, y, d);
    }
}
