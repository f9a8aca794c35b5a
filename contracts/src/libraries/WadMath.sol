// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title WadMath
/// @notice 18-decimal fixed-point helpers with an explicit rounding direction, so every division in
/// the margin math states who it favours. Overflow reverts (checked arithmetic); with 18-decimal
/// amounts and WAD ratios the products stay far below 2^256 for any realistic balance.
library WadMath {
    uint256 internal constant WAD = 1e18;

    function mulDivDown(uint256 x, uint256 y, uint256 denominator) internal pure returns (uint256) {
        return (x * y) / denominator;
    }

    function mulDivUp(uint256 x, uint256 y, uint256 denominator) internal pure returns (uint256) {
        uint256 product = x * y;
        return product == 0 ? 0 : (product - 1) / denominator + 1;
    }

    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, y, WAD);
    }

    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, WAD);
    }

    function min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x < y ? x : y;
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
