// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {MorphoHelper} from "./Helper.sol";
import {IMarginMarket} from "../../src/interfaces/IMarginMarket.sol";
import {MorphoPreLiquidation} from "../../src/morpho/MorphoPreLiquidation.sol";
import {EventsLib} from "@morpho-org/morpho-blue/src/libraries/EventsLib.sol";
import {ErrorsLib} from "@morpho-org/morpho-blue/src/libraries/ErrorsLib.sol";

/// @notice liquidate() against the real Morpho: who may call it, when it refuses, what it does to the
/// position, and Morpho's own liquidation beyond LLTV.
contract MorphoLiquidateTest is MorphoHelper {
    address internal receiver = address(0x5EC);

    function test_liquidate_only_by_the_settlement() public {
        _openBandPosition();
        address[2] memory strangers = [address(0xBAD), borrower];
        for (uint256 i = 0; i < strangers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(MorphoPreLiquidation.OnlySettlement.selector, strangers[i]));
            vm.prank(strangers[i]);
            adapter.liquidate(borrower, 1_000e18, receiver);
        }
    }

    function test_liquidate_refuses_a_borrower_who_did_not_opt_in() public {
        _openPosition(borrower, COLLATERAL, DEBT, false);
        oracle.setPrice(BAND_PRICE);
        _expectLiquidateRevert(
            abi.encodeWithSelector(MorphoPreLiquidation.NotAuthorized.selector, borrower), borrower, 1_000e18, receiver
        );
        assertEq(_collateralOf(borrower), COLLATERAL, "collateral untouched");
    }

    function test_liquidate_refuses_a_healthy_position() public {
        _openPosition(borrower, COLLATERAL, DEBT, true); // LTV = preLltv
        _expectLiquidateRevert(
            abi.encodeWithSelector(
                MorphoPreLiquidation.NotPreLiquidatable.selector, borrower, MorphoPreLiquidation.Band.Healthy
            ),
            borrower,
            1_000e18,
            receiver
        );
    }

    function test_liquidate_refuses_zero_repay_zero_receiver_and_above_max() public {
        _openBandPosition();
        _expectLiquidateRevert(abi.encodeWithSelector(MorphoPreLiquidation.ZeroRepay.selector), borrower, 0, receiver);
        _expectLiquidateRevert(
            abi.encodeWithSelector(MorphoPreLiquidation.ZeroAddress.selector), borrower, 1_000e18, address(0)
        );
        uint256 maxRepayAmount = adapter.maxRepay(borrower);
        _expectLiquidateRevert(
            abi.encodeWithSelector(MorphoPreLiquidation.RepayAboveMax.selector, maxRepayAmount + 1, maxRepayAmount),
            borrower,
            maxRepayAmount + 1,
            receiver
        );
    }

    function test_liquidate_refuses_a_repay_that_buys_no_collateral() public {
        _openBandPosition();
        // One wei of loan token is worth less than one wei of collateral at 1,900.
        _expectLiquidateRevert(
            abi.encodeWithSelector(MorphoPreLiquidation.RepayTooSmall.selector, 1), borrower, 1, receiver
        );
    }

    function test_liquidate_repays_on_morpho_and_sends_collateral_with_the_incentive() public {
        _openBandPosition();
        uint256 repayAmount = 2_000e18;
        MorphoPreLiquidation.Status memory status = adapter.status(borrower);
        uint256 sharesBefore = _borrowShares(borrower);
        uint256 expectedShares = repayAmount * 1e6; // first borrower: 1e6 shares per asset, no interest yet
        // 2,000 * LIF / 1,900 collateral, rounded down.
        uint256 expectedSeized = repayAmount * status.incentiveFactor / 1e18 * 1e36 / BAND_PRICE;

        _fundSettlement(repayAmount);
        vm.expectEmit(true, true, true, true, address(morpho));
        emit EventsLib.Repay(id, address(adapter), borrower, repayAmount, expectedShares);
        vm.expectEmit(true, true, true, true, address(morpho));
        emit EventsLib.WithdrawCollateral(id, address(adapter), borrower, receiver, expectedSeized);
        vm.expectEmit(true, true, true, true, address(adapter));
        emit MorphoPreLiquidation.PreLiquidated(
            borrower, receiver, repayAmount, expectedShares, expectedSeized, expectedSeized * BAND_PRICE / 1e36
        );
        vm.expectEmit(true, false, false, false, address(adapter));
        emit IMarginMarket.PositionChanged(borrower);
        vm.prank(address(settlement));
        uint256 seizedValue = adapter.liquidate(borrower, repayAmount, receiver);

        assertEq(seizedValue, expectedSeized * BAND_PRICE / 1e36, "seized value in loan units");
        assertEq(collateralToken.balanceOf(receiver), expectedSeized, "receiver gets the collateral");
        assertEq(_collateralOf(borrower), COLLATERAL - expectedSeized, "collateral left on Morpho");
        assertEq(_borrowShares(borrower), sharesBefore - expectedShares, "shares repaid");
        assertEq(_borrowed(borrower), DEBT - repayAmount, "debt reduced by the repay");
        assertEq(loanToken.balanceOf(address(adapter)), 0, "adapter keeps nothing");
        assertEq(loanToken.balanceOf(address(settlement)), 0, "settlement's repay was taken exactly");
    }

    function test_a_pre_liquidation_improves_the_ltv() public {
        _openBandPosition();
        uint256 ltvBefore = _ltv(borrower);
        _liquidateAsSettlement(borrower, adapter.maxRepay(borrower), receiver);
        assertLt(_ltv(borrower), ltvBefore, "LTV fell");
    }

    /// @dev Anywhere in the band, any allowed repay lowers the LTV (LTV * LIF < 1) and leaves the position
    /// healthy on Morpho.
    function testFuzz_a_pre_liquidation_never_raises_the_ltv(uint256 ltvSeed, uint256 repaySeed, uint256 elapsed)
        public
    {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        vm.warp(block.timestamp + bound(elapsed, 0, 90 days));
        uint256 ltv = bound(ltvSeed, PRE_LLTV + 1e12, LLTV);
        oracle.setPrice(_priceForLtv(COLLATERAL, _borrowed(borrower), ltv));
        uint256 maxRepayAmount = adapter.maxRepay(borrower);
        vm.assume(maxRepayAmount > 0);
        uint256 repayAmount = bound(repaySeed, 1e15, maxRepayAmount);
        uint256 ltvBefore = _ltv(borrower);
        _liquidateAsSettlement(borrower, repayAmount, receiver);
        assertLe(_ltv(borrower), ltvBefore, "LTV did not rise");
        assertTrue(!adapter.isLiquidatable(borrower) || _ltv(borrower) <= LLTV, "still within Morpho's LLTV");
    }

    function test_beyond_lltv_pre_liquidation_is_refused_and_morpho_liquidate_works() public {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        oracle.setPrice(1700e36); // LTV 82.35% > LLTV
        _expectLiquidateRevert(
            abi.encodeWithSelector(
                MorphoPreLiquidation.NotPreLiquidatable.selector, borrower, MorphoPreLiquidation.Band.MorphoLiquidation
            ),
            borrower,
            1_000e18,
            receiver
        );

        // Morpho's own liquidation stays open to anyone, at Morpho's incentive, untouched by Backstop.
        address keeper = address(0x4EE9);
        loanToken.mint(keeper, DEBT);
        vm.startPrank(keeper);
        loanToken.approve(address(morpho), DEBT);
        (uint256 seized, uint256 repaid) = morpho.liquidate(marketParams, borrower, 5e18, 0, "");
        vm.stopPrank();
        assertEq(seized, 5e18, "keeper seized what it asked");
        assertEq(collateralToken.balanceOf(keeper), 5e18, "keeper holds the collateral");
        // Morpho's LIF at LLTV 80%: 1 / (1 - 0.3 * 0.2) = 1.0638...; 5 * 1,700 / 1.0638 ~ 7,990 repaid.
        assertApproxEqRel(repaid, 5e18 * 1700 * 94 / 100, 1e12, "repaid at Morpho's incentive");
        assertEq(_collateralOf(borrower), COLLATERAL - 5e18, "collateral left");
    }

    function test_morpho_liquidate_still_refuses_a_position_in_the_band() public {
        _openBandPosition();
        address keeper = address(0x4EE9);
        loanToken.mint(keeper, DEBT);
        vm.startPrank(keeper);
        loanToken.approve(address(morpho), DEBT);
        vm.expectRevert(bytes(ErrorsLib.HEALTHY_POSITION));
        morpho.liquidate(marketParams, borrower, 1e18, 0, "");
        vm.stopPrank();
    }

    function test_a_close_factor_above_one_repays_the_whole_debt_by_shares() public {
        MorphoPreLiquidation.PreLiquidationParams memory params = _defaultParams();
        params.preLCF1 = 1e18;
        params.preLCF2 = 3e18; // whole position closable anywhere in the band
        adapter = _deployAdapter(params);
        _openPosition(borrower, COLLATERAL, DEBT, true);
        oracle.setPrice(BAND_PRICE);
        vm.warp(block.timestamp + 7 days); // interest: the debt is no longer a round number of shares
        uint256 debt = _borrowed(borrower);
        assertEq(adapter.maxRepay(borrower), debt, "maxRepay is the whole debt, rounded up");

        uint256 seizedValue = _liquidateAsSettlement(borrower, debt, receiver);
        assertEq(_borrowShares(borrower), 0, "no shares left");
        assertEq(loanToken.balanceOf(address(adapter)), 0, "adapter keeps nothing");
        assertEq(loanToken.balanceOf(address(settlement)), 0, "exactly the whole debt was pulled");
        assertGt(_collateralOf(borrower), 0, "the borrower keeps the collateral the incentive did not take");
        assertEq(seizedValue, collateralToken.balanceOf(receiver) * BAND_PRICE / 1e36, "seized value");
    }

    function test_liquidate_accounts_the_interest_accrued_since_the_last_touch() public {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        oracle.setPrice(1950e36); // LTV 71.8%: in the band already
        vm.warp(block.timestamp + 30 days);
        uint256 debtWithInterest = _borrowed(borrower);
        assertGt(debtWithInterest, DEBT + 100e18, "30 days of 10% interest on 14,000");
        uint256 maxRepayAmount = adapter.maxRepay(borrower);
        uint256 expectedSeizedValue = adapter.previewSeize(borrower, maxRepayAmount);
        assertEq(morpho.market(id).lastUpdate, START_TIME, "nobody accrued on Morpho yet");

        uint256 seizedValue = _liquidateAsSettlement(borrower, maxRepayAmount, receiver);
        assertEq(morpho.market(id).lastUpdate, block.timestamp, "liquidate accrued");
        assertEq(seizedValue, expectedSeizedValue, "the preview accrued the same interest");
        assertApproxEqRel(_borrowed(borrower), debtWithInterest - maxRepayAmount, 1e6, "debt with interest, less repay");
    }
}
