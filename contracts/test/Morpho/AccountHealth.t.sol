// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {MorphoHelper} from "./Helper.sol";
import {MorphoPreLiquidation} from "../../src/morpho/MorphoPreLiquidation.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";

/// @notice The IMarginMarket views: the band encoded in accountHealth (liquidatable iff opted in and
/// preLltv < LTV <= LLTV), isLiquidatable, maxRepay, status, and an open path that never opens.
contract MorphoAccountHealthTest is MorphoHelper {
    function test_no_debt_is_not_liquidatable() public {
        _openPosition(borrower, COLLATERAL, 0, true);
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.accountHealth(borrower);
        assertEq(debtValue, 0, "no debt");
        assertEq(requirement, 0, "no requirement");
        assertEq(collateralValue, 20_000e18, "collateral is still valued");
        assertFalse(adapter.isLiquidatable(borrower), "not liquidatable");
        assertEq(adapter.maxRepay(borrower), 0, "nothing to repay");
        assertEq(uint256(adapter.status(borrower).band), uint256(MorphoPreLiquidation.Band.NoDebt), "band");
    }

    function test_at_preLltv_the_position_is_healthy() public {
        _openPosition(borrower, COLLATERAL, DEBT, true); // LTV exactly 70%
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.accountHealth(borrower);
        assertEq(collateralValue, 20_000e18, "10 at 2,000");
        assertEq(debtValue, DEBT, "borrowed, no time elapsed");
        assertEq(requirement, 20_000e18, "debt / preLltv");
        assertFalse(adapter.isLiquidatable(borrower), "LTV = preLltv is not in the band");
        assertEq(adapter.maxRepay(borrower), 0, "nothing to repay");
        assertEq(adapter.previewSeize(borrower, 1_000e18), 0, "nothing to seize");
        MorphoPreLiquidation.Status memory status = adapter.status(borrower);
        assertEq(uint256(status.band), uint256(MorphoPreLiquidation.Band.Healthy), "healthy band");
        assertEq(status.ltv, PRE_LLTV, "LTV 70%");
        assertTrue(status.authorized, "opted in");
    }

    function test_in_the_band_an_opted_in_position_is_liquidatable() public {
        _openBandPosition();
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.accountHealth(borrower);
        assertEq(collateralValue, 19_000e18, "10 at 1,900");
        assertEq(debtValue, DEBT, "borrowed");
        assertEq(requirement, 20_000e18, "debt / preLltv");
        assertTrue(collateralValue < requirement, "the IMarginMarket rule says liquidatable");
        assertTrue(adapter.isLiquidatable(borrower), "liquidatable");

        MorphoPreLiquidation.Status memory status = adapter.status(borrower);
        assertEq(uint256(status.band), uint256(MorphoPreLiquidation.Band.PreLiquidation), "band");
        // LTV 14,000 / 19,000 = 0.736842105263157895 (rounded up); quotient (ltv - 0.7) / 0.1.
        assertEq(status.ltv, 736_842_105_263_157_895, "LTV");
        uint256 quotient = (status.ltv - PRE_LLTV) * 1e18 / (LLTV - PRE_LLTV);
        assertEq(status.closeFactor, quotient * (PRE_LCF_2 - PRE_LCF_1) / 1e18 + PRE_LCF_1, "close factor");
        assertEq(status.incentiveFactor, quotient * (PRE_LIF_2 - PRE_LIF_1) / 1e18 + PRE_LIF_1, "incentive");
        assertEq(adapter.maxRepay(borrower), status.maxRepay, "status agrees with maxRepay");
        // The close factor caps shares: 14,000 of debt * ~42.1%, converted down.
        assertApproxEqRel(status.maxRepay, DEBT * status.closeFactor / 1e18, 1e6, "maxRepay ~ debt * close factor");
        assertLe(status.maxRepay, DEBT * status.closeFactor / 1e18, "rounded down");
    }

    function test_in_the_band_without_authorization_nothing_is_liquidatable() public {
        _openPosition(borrower, COLLATERAL, DEBT, false);
        oracle.setPrice(BAND_PRICE);
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.accountHealth(borrower);
        assertEq(collateralValue, 19_000e18, "collateral value still reported");
        assertEq(debtValue, DEBT, "debt still reported");
        assertEq(requirement, 0, "no requirement: this adapter may not act");
        assertFalse(adapter.isLiquidatable(borrower), "not opted in");
        assertEq(adapter.maxRepay(borrower), 0, "nothing to repay");
        assertEq(adapter.previewSeize(borrower, 1_000e18), 0, "nothing to seize");
        MorphoPreLiquidation.Status memory status = adapter.status(borrower);
        assertEq(uint256(status.band), uint256(MorphoPreLiquidation.Band.PreLiquidation), "in the band");
        assertFalse(status.authorized, "not authorized");
        assertEq(status.maxRepay, 0, "status: nothing to repay");
    }

    function test_revoking_the_authorization_opts_out() public {
        _openBandPosition();
        assertTrue(adapter.isLiquidatable(borrower), "opted in");
        vm.prank(borrower);
        morpho.setAuthorization(address(adapter), false);
        assertFalse(adapter.isLiquidatable(borrower), "opted out");
    }

    function test_beyond_lltv_the_position_is_left_to_morpho() public {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        oracle.setPrice(1700e36); // LTV 82.35%
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.accountHealth(borrower);
        assertEq(collateralValue, 17_000e18, "collateral value");
        assertEq(debtValue, DEBT, "debt");
        assertEq(requirement, 0, "no requirement: Morpho's liquidate applies");
        assertFalse(adapter.isLiquidatable(borrower), "not pre-liquidatable");
        assertEq(adapter.maxRepay(borrower), 0, "nothing to repay here");
        assertEq(
            uint256(adapter.status(borrower).band),
            uint256(MorphoPreLiquidation.Band.MorphoLiquidation),
            "Morpho's band"
        );
    }

    function test_at_lltv_exactly_the_position_is_still_in_the_band() public {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        oracle.setPrice(1750e36); // 14,000 / 17,500 = 80% = LLTV: healthy on Morpho
        assertTrue(adapter.isLiquidatable(borrower), "LLTV is the band's upper edge, included");
        MorphoPreLiquidation.Status memory status = adapter.status(borrower);
        assertEq(status.ltv, LLTV, "LTV at LLTV");
        assertEq(status.closeFactor, PRE_LCF_2, "close factor at LLTV is preLCF2");
        assertEq(status.incentiveFactor, PRE_LIF_2, "incentive at LLTV is preLIF2");
        oracle.setPrice(1750e36 - 1e36 / 1e6);
        assertFalse(adapter.isLiquidatable(borrower), "a hair lower and Morpho's liquidate takes over");
    }

    function test_interest_alone_moves_a_position_into_the_band() public {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        assertFalse(adapter.isLiquidatable(borrower), "at preLltv");
        vm.warp(block.timestamp + 1 days);
        // Nobody accrued on Morpho: the adapter accrues virtually, as Morpho will in the liquidation.
        (, uint256 debtValue,) = adapter.accountHealth(borrower);
        assertGt(debtValue, DEBT, "debt grew with interest");
        assertEq(debtValue, _borrowed(borrower), "the same as Morpho's expected borrow assets");
        assertTrue(adapter.isLiquidatable(borrower), "a day of 10% interest pushes LTV past 70%");
    }

    function test_openLiquidationHealth_never_opens_the_permissionless_path() public {
        _openBandPosition();
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.openLiquidationHealth(borrower);
        assertEq(collateralValue, 19_000e18, "collateral value");
        assertEq(debtValue, DEBT, "debt");
        assertEq(requirement, 0, "no requirement on the open path");

        // Even flagged and past the grace period, the settlement's open path refuses: for Morpho the
        // fallback is Morpho's own liquidate, beyond LLTV.
        settlement.flagUnhealthy(marketId, borrower);
        vm.warp(block.timestamp + settlement.DEFAULT_GRACE_PERIOD() + 1);
        assertTrue(adapter.isLiquidatable(borrower), "still in the band");
        assertFalse(settlement.isOpenLiquidatable(marketId, borrower), "open path closed");
        loanToken.mint(address(this), 1_000e18);
        loanToken.approve(address(settlement), 1_000e18);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AccountNotLiquidatable.selector, borrower));
        settlement.liquidateOpen(marketId, borrower, 1_000e18);
    }

    function test_price_is_per_whole_token_in_loan_units() public {
        oracle.setPrice(BAND_PRICE);
        assertEq(adapter.price(address(loanToken)), 1e18, "unit of account");
        assertEq(adapter.price(address(collateralToken)), 1900e18, "1,900 per collateral token");
        vm.expectRevert(abi.encodeWithSelector(MorphoPreLiquidation.UnknownAsset.selector, address(0xDEAD)));
        adapter.price(address(0xDEAD));
    }

    /// @dev One rule everywhere: the accountHealth encoding, isLiquidatable and maxRepay > 0 agree with
    /// each other and with Morpho's own numbers, whatever the price, time and opt-in.
    function testFuzz_views_agree_on_liquidatability(uint256 priceSeed, uint256 elapsed, bool optIn) public {
        _openPosition(borrower, COLLATERAL, DEBT, optIn);
        uint256 collateralPrice = bound(priceSeed, 1000e36, 2100e36);
        oracle.setPrice(collateralPrice);
        vm.warp(block.timestamp + bound(elapsed, 0, 365 days));

        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.accountHealth(borrower);
        bool ruleSays = debtValue > 0 && collateralValue < requirement;
        assertEq(ruleSays, adapter.isLiquidatable(borrower), "accountHealth rule = isLiquidatable");
        assertEq(adapter.maxRepay(borrower) > 0, ruleSays, "maxRepay > 0 iff liquidatable");
        assertEq(debtValue, _borrowed(borrower), "debt is Morpho's expected borrow assets");
        assertEq(collateralValue, COLLATERAL * collateralPrice / 1e36, "collateral quoted down");

        uint256 maxBorrowAtLltv = collateralValue * LLTV / 1e18;
        uint256 maxBorrowAtPreLltv = collateralValue * PRE_LLTV / 1e18;
        bool inBand = debtValue > maxBorrowAtPreLltv && debtValue <= maxBorrowAtLltv;
        assertEq(ruleSays, inBand && optIn, "liquidatable iff opted in and preLltv < LTV <= LLTV");
    }
}
