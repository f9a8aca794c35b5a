// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {MorphoHelper} from "./Helper.sol";
import {MorphoPreLiquidation} from "../../src/morpho/MorphoPreLiquidation.sol";

/// @notice The close factor and the incentive factor grow linearly with the LTV, from (preLCF1, preLIF1)
/// at preLltv to (preLCF2, preLIF2) at LLTV, rounded down like Morpho's PreLiquidation.
contract MorphoFactorsTest is MorphoHelper {
    function testFuzz_factors_interpolate_linearly_across_the_band(uint256 ltvSeed, uint256 collateralSeed) public {
        uint256 collateral = bound(collateralSeed, 1e17, 500e18);
        _openPosition(borrower, collateral, collateral * 2000 * 6 / 10, true);
        oracle.setPrice(_priceForLtv(collateral, _borrowed(borrower), bound(ltvSeed, PRE_LLTV + 1e9, LLTV)));
        _assertInterpolated(adapter.status(borrower));
    }

    /// @dev Just above preLltv the factors start at preLCF1 / preLIF1 ...
    function testFuzz_factors_start_at_the_lower_edge(uint256 collateralSeed, uint256 offsetSeed) public {
        uint256 collateral = bound(collateralSeed, 1e17, 500e18);
        _openPosition(borrower, collateral, collateral * 2000 * 6 / 10, true);
        uint256 offset = bound(offsetSeed, 1e9, 1e12); // LTV at most 1e-6 above preLltv
        oracle.setPrice(_priceForLtv(collateral, _borrowed(borrower), PRE_LLTV + offset));
        MorphoPreLiquidation.Status memory status = _assertInterpolated(adapter.status(borrower));
        // (1e-6 of the band's 0.1 width) * the factors' ranges, plus rounding.
        assertLe(status.closeFactor - PRE_LCF_1, (PRE_LCF_2 - PRE_LCF_1) / 1e4, "close factor ~ preLCF1");
        assertLe(status.incentiveFactor - PRE_LIF_1, (PRE_LIF_2 - PRE_LIF_1) / 1e4, "incentive ~ preLIF1");
    }

    /// @dev ... and at LLTV they are exactly preLCF2 / preLIF2.
    function testFuzz_factors_end_at_lltv(uint256 collateralSeed) public {
        uint256 collateral = bound(collateralSeed, 1e17, 500e18);
        _openPosition(borrower, collateral, collateral * 2000 * 6 / 10, true);
        uint256 debt = _borrowed(borrower);
        // The smallest collateral value with debt <= value * LLTV (Morpho-rounded), at the smallest price
        // that quotes the collateral at it: the top of the band.
        uint256 value = (debt * 1e18 + LLTV - 1) / LLTV;
        uint256 collateralPrice = (value * 1e36 + collateral - 1) / collateral;
        assertEq(collateral * collateralPrice / 1e36, value, "quoted at exactly that value");
        oracle.setPrice(collateralPrice);
        MorphoPreLiquidation.Status memory status = _assertInterpolated(adapter.status(borrower));
        if (status.ltv == LLTV) {
            assertEq(status.closeFactor, PRE_LCF_2, "close factor at LLTV");
            assertEq(status.incentiveFactor, PRE_LIF_2, "incentive at LLTV");
        } else {
            assertLe(PRE_LCF_2 - status.closeFactor, (PRE_LCF_2 - PRE_LCF_1) / 1e6, "close factor ~ preLCF2");
            assertLe(PRE_LIF_2 - status.incentiveFactor, (PRE_LIF_2 - PRE_LIF_1) / 1e6, "incentive ~ preLIF2");
        }
        oracle.setPrice(collateralPrice - 1e24);
        assertEq(
            uint256(adapter.status(borrower).band),
            uint256(MorphoPreLiquidation.Band.MorphoLiquidation),
            "just below that price the position is Morpho's"
        );
    }

    function testFuzz_factors_never_decrease_with_the_ltv(uint256 ltvSeedA, uint256 ltvSeedB) public {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        uint256 ltvLow = bound(ltvSeedA, PRE_LLTV + 1e9, LLTV);
        uint256 ltvHigh = bound(ltvSeedB, ltvLow, LLTV);
        oracle.setPrice(_priceForLtv(COLLATERAL, DEBT, ltvLow));
        MorphoPreLiquidation.Status memory low = adapter.status(borrower);
        oracle.setPrice(_priceForLtv(COLLATERAL, DEBT, ltvHigh));
        MorphoPreLiquidation.Status memory high = adapter.status(borrower);
        assertLe(low.closeFactor, high.closeFactor, "close factor is monotone");
        assertLe(low.incentiveFactor, high.incentiveFactor, "incentive is monotone");
    }

    /// @dev Inside the band: the factors are the rounded-down line through the edges at the status' LTV.
    function _assertInterpolated(MorphoPreLiquidation.Status memory status)
        internal
        pure
        returns (MorphoPreLiquidation.Status memory)
    {
        assertEq(uint256(status.band), uint256(MorphoPreLiquidation.Band.PreLiquidation), "in the band");
        assertGt(status.ltv, PRE_LLTV, "above preLltv");
        assertLe(status.ltv, LLTV, "at most LLTV");
        uint256 quotient = (status.ltv - PRE_LLTV) * 1e18 / (LLTV - PRE_LLTV);
        assertEq(status.closeFactor, PRE_LCF_1 + quotient * (PRE_LCF_2 - PRE_LCF_1) / 1e18, "close factor line");
        assertEq(status.incentiveFactor, PRE_LIF_1 + quotient * (PRE_LIF_2 - PRE_LIF_1) / 1e18, "incentive line");
        // The exact line, for a reader who does not trust the formula above: within two units below it.
        uint256 exactCloseFactor = PRE_LCF_1 + (status.ltv - PRE_LLTV) * (PRE_LCF_2 - PRE_LCF_1) / (LLTV - PRE_LLTV);
        assertLe(status.closeFactor, exactCloseFactor, "rounded down");
        assertLe(exactCloseFactor - status.closeFactor, 2, "by at most two units");
        return status;
    }
}
