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
}
