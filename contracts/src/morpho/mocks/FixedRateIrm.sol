// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {IIrm} from "@morpho-org/morpho-blue/src/interfaces/IIrm.sol";
import {MarketParams, Market} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";

/// @title FixedRateIrm
/// @notice A Morpho Blue interest rate model with one constant borrow rate, for devnets and tests: interest
/// then depends on time alone, so a scenario's debt growth is predictable. Stateless, so `borrowRate` and
/// `borrowRateView` agree (what Morpho's MorphoBalancesLib, and the node's local accrual, assume).
/// @dev The owner of Morpho must `enableIrm` it before a market can use it.
contract FixedRateIrm is IIrm {
    /// @notice Borrow rate per second, WAD (e.g. 10% a year: 0.1e18 / 365 days = 3,170,979,198).
    uint256 public immutable ratePerSecond;

    constructor(uint256 ratePerSecond_) {
        ratePerSecond = ratePerSecond_;
    }

    function borrowRate(MarketParams memory, Market memory) external view returns (uint256) {
        return ratePerSecond;
    }

    function borrowRateView(MarketParams memory, Market memory) external view returns (uint256) {
        return ratePerSecond;
    }
}
