// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title WadMath
/// @notice 18-decimal fixed-point helpers with an explicit rounding direction, so every division in
/// the margin math states who it favours. Products are formed in 512 bits, so `mulDiv*` reverts only
/// when the *result* does not fit 256 bits (or the denominator is zero), never on an intermediate.
library WadMath {
    uint256 internal constant WAD = 1e18;

    error MulDivOverflow();

    /// @dev floor(x * y / denominator) with a full-precision intermediate (Remco Bloemen's method,
    /// as in Uniswap's FullMath and Solady's fullMulDiv).
    function mulDivDown(uint256 x, uint256 y, uint256 denominator) internal pure returns (uint256 result) {
        (uint256 high, uint256 low) = mul512(x, y);
        if (high == 0) {
            if (denominator == 0) revert MulDivOverflow();
            return low / denominator;
        }
        if (denominator <= high) revert MulDivOverflow();
        unchecked {
            uint256 remainder;
            assembly ("memory-safe") {
                remainder := mulmod(x, y, denominator)
                high := sub(high, gt(remainder, low))
                low := sub(low, remainder)
            }
            // Factor the largest power of two out of the denominator.
            uint256 twos = denominator & (~denominator + 1);
            assembly ("memory-safe") {
                denominator := div(denominator, twos)
                low := div(low, twos)
                twos := add(div(sub(0, twos), twos), 1)
            }
            low |= high * twos;
            // Inverse of the (now odd) denominator modulo 2^256 by Newton-Raphson, 4 -> 256 bits.
            uint256 inverse = (3 * denominator) ^ 2;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            inverse *= 2 - denominator * inverse;
            result = low * inverse;
        }
    }

    /// @dev ceil(x * y / denominator), full precision.
    function mulDivUp(uint256 x, uint256 y, uint256 denominator) internal pure returns (uint256 result) {
        result = mulDivDown(x, y, denominator);
        if (mulmod(x, y, denominator) != 0) {
            if (result == type(uint256).max) revert MulDivOverflow();
            unchecked {
                result += 1;
            }
        }
    }

    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, y, WAD);
    }

    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, WAD);
    }

    /// @dev The 512-bit product x * y as (high, low) words.
    function mul512(uint256 x, uint256 y) internal pure returns (uint256 high, uint256 low) {
        assembly ("memory-safe") {
            let mm := mulmod(x, y, not(0))
            low := mul(x, y)
            high := sub(sub(mm, low), lt(mm, low))
        }
    }

    /// @dev a * b < c * d, compared exactly in 512 bits (cross-multiplied ratios never overflow).
    function mulLessThan(uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (bool) {
        (uint256 leftHigh, uint256 leftLow) = mul512(a, b);
        (uint256 rightHigh, uint256 rightLow) = mul512(c, d);
        return leftHigh < rightHigh || (leftHigh == rightHigh && leftLow < rightLow);
    }

    function min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x < y ? x : y;
    }

    function max(uint256 x, uint256 y) internal pure returns (uint256) {
        return x > y ? x : y;
    }

    /// @dev floor(sqrt(x)). Newton's method from a power of two above the root decreases monotonically
    /// to the floor, so the loop needs no correction step; a handful of iterations for any input.
    function sqrt(uint256 x) internal pure returns (uint256 root) {
        if (x == 0) return 0;
        uint256 bits;
        uint256 rest = x;
        for (uint256 step = 128; step > 0; step >>= 1) {
            // forge-lint: disable-next-line(incorrect-shift)
            if (rest >= 1 << step) {
                rest >>= step;
                bits += step;
            }
        }
        // x < 2^(bits+1), so 2^ceil((bits+1)/2) >= sqrt(x).
        // forge-lint: disable-next-line(incorrect-shift)
        root = 1 << ((bits + 2) / 2);
        while (true) {
            uint256 next = (root + x / root) >> 1;
            if (next >= root) return root;
            root = next;
        }
    }
}
