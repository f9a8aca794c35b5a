// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {MorphoHelper} from "./Helper.sol";
import {MorphoPreLiquidation} from "../../src/morpho/MorphoPreLiquidation.sol";

/// @notice The views nodes and solvers price auctions with (maxRepay, previewSeize) equal what liquidate
/// then does on Morpho, over position sizes, prices, share prices (another borrower, earlier accrual) and
/// interest nobody has accrued yet.
contract MorphoPreviewMatchesLiquidateTest is MorphoHelper {
    address internal receiver = address(0x5EC);
    address internal otherBorrower = address(0x07E);

    struct Case {
        uint256 collateral;
        uint256 ltv;
        uint256 repaySeed;
        bool repayMax;
        uint256 elapsedBefore;
        uint256 elapsedAfter;
        uint256 otherCollateral;
    }

    function testFuzz_views_equal_what_liquidate_does(
        uint256 collateralSeed,
        uint256 ltvSeed,
        uint256 repaySeed,
        uint256 elapsedBefore,
        uint256 elapsedAfter,
        uint256 otherSeed
    ) public {
        _check(
            Case({
                collateral: bound(collateralSeed, 1e16, 100e18),
                ltv: bound(ltvSeed, PRE_LLTV + 1e9, LLTV - 1e9),
                repaySeed: repaySeed,
                repayMax: repaySeed % 4 == 0,
                elapsedBefore: bound(elapsedBefore, 0, 365 days),
                elapsedAfter: bound(elapsedAfter, 0, 365 days),
                otherCollateral: bound(otherSeed, 1e18, 200e18)
            })
        );
    }

    /// @dev The same with a close factor that reaches the whole debt inside the band, so the repay-by-shares
    /// path (the whole debt, rounded up) is exercised too.
    function testFuzz_views_equal_what_liquidate_does_up_to_the_whole_debt(
        uint256 collateralSeed,
        uint256 ltvSeed,
        uint256 repaySeed,
        uint256 elapsedAfter
    ) public {
        MorphoPreLiquidation.PreLiquidationParams memory params = _defaultParams();
        params.preLCF1 = 0.5e18;
        params.preLCF2 = 2e18; // 100% from the middle of the band on
        adapter = _deployAdapter(params);
        _check(
            Case({
                collateral: bound(collateralSeed, 1e16, 100e18),
                ltv: bound(ltvSeed, 0.75e18, LLTV - 1e9),
                repaySeed: repaySeed,
                repayMax: repaySeed % 2 == 0,
                elapsedBefore: 3 days,
                elapsedAfter: bound(elapsedAfter, 0, 30 days),
                otherCollateral: 50e18
            })
        );
    }

    function _check(Case memory c) internal {
        // Another borrower and an accrual make the share price something other than Morpho's initial 1e-6.
        _openPosition(otherBorrower, c.otherCollateral, c.otherCollateral * 2000 / 2, false);
        vm.warp(block.timestamp + c.elapsedBefore);
        morpho.accrueInterest(marketParams);
        _openPosition(borrower, c.collateral, c.collateral * 2000 * 6 / 10, true);
        vm.warp(block.timestamp + c.elapsedAfter); // accrued by nobody: the views accrue virtually
        uint256 collateralPrice = _priceForLtv(c.collateral, _borrowed(borrower), c.ltv);
        oracle.setPrice(collateralPrice);

        uint256 maxRepayAmount = adapter.maxRepay(borrower);
        if (maxRepayAmount == 0) {
            // Only possible when rounding put the position at or below preLltv (or beyond LLTV).
            assertFalse(adapter.isLiquidatable(borrower), "no repay only when not liquidatable");
            return;
        }
        // Mostly meaningful repays (dust that buys no collateral is covered below and in Liquidate.t.sol).
        uint256 repayAmount =
            c.repayMax ? maxRepayAmount : bound(c.repaySeed, maxRepayAmount < 1e12 ? 1 : 1e12, maxRepayAmount);
        uint256 expectedSeizedValue = adapter.previewSeize(borrower, repayAmount);
        uint256 debtBefore = _borrowed(borrower);
        uint256 collateralBefore = _collateralOf(borrower);

        // The close factor is exactly maxRepay: one more unit is refused.
        uint256 snapshot = vm.snapshotState();
        _expectLiquidateRevert(
            abi.encodeWithSelector(MorphoPreLiquidation.RepayAboveMax.selector, maxRepayAmount + 1, maxRepayAmount),
            borrower,
            maxRepayAmount + 1,
            receiver
        );
        vm.revertToState(snapshot);

        if (expectedSeizedValue == 0) {
            _expectLiquidateRevert(
                abi.encodeWithSelector(MorphoPreLiquidation.RepayTooSmall.selector, repayAmount),
                borrower,
                repayAmount,
                receiver
            );
            return;
        }
        uint256 seizedValue = _liquidateAsSettlement(borrower, repayAmount, receiver);

        uint256 seizedCollateral = collateralBefore - _collateralOf(borrower);
        assertEq(seizedValue, expectedSeizedValue, "previewSeize = seized value");
        assertEq(collateralToken.balanceOf(receiver), seizedCollateral, "receiver got what left the position");
        assertEq(seizedValue, seizedCollateral * collateralPrice / 1e36, "seized value is the collateral quoted down");
        assertEq(loanToken.balanceOf(address(settlement)), 0, "exactly the repay was pulled");
        assertEq(loanToken.balanceOf(address(adapter)), 0, "and all of it went to Morpho");
        uint256 debtAfter = _borrowed(borrower);
        assertLe(debtBefore - debtAfter, repayAmount, "debt falls by at most the repay (lenders' favour)");
        assertApproxEqRel(debtAfter, debtBefore - repayAmount, 1e8, "and by the repay, up to share rounding");
        // The incentive never pays out more than the interpolated LIF on the repay.
        assertLe(seizedValue, repayAmount * PRE_LIF_2 / 1e18, "bounded by preLIF2");
    }
}
