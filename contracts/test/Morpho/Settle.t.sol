// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {MorphoHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {MorphoPreLiquidation} from "../../src/morpho/MorphoPreLiquidation.sol";

/// @notice End to end through the unchanged LiquidationSettlement: a committee-signed award settles a
/// pre-liquidation on the real Morpho, the winner gets the collateral, the premium reaches the beneficiary.
contract MorphoSettleTest is MorphoHelper {
    function setUp() public override {
        super.setUp();
        _fundExecutor(1_000_000e18);
    }

    function test_settle_pre_liquidates_on_morpho_and_pays_the_premium_to_the_beneficiary() public {
        _openBandPosition();
        uint256 repayAmount = adapter.maxRepay(borrower);
        uint256 expectedSeizedValue = adapter.previewSeize(borrower, repayAmount);
        uint256 executorLoanBefore = loanToken.balanceOf(executor);
        uint256 ltvBefore = _ltv(borrower);
        LiquidationSettlement.Award memory award = _award(marketId, borrower, repayAmount, PREMIUM);

        vm.expectEmit(true, true, true, true, address(settlement));
        emit LiquidationSettlement.Settled(
            award.intentId, marketId, borrower, 0, executor, repayAmount, PREMIUM, expectedSeizedValue
        );
        uint256 seizedValue = _settle(award);

        assertEq(seizedValue, expectedSeizedValue, "seized value matches previewSeize");
        assertEq(loanToken.balanceOf(beneficiary), PREMIUM, "the premium reaches the beneficiary");
        assertEq(loanToken.balanceOf(executor), executorLoanBefore - repayAmount - PREMIUM, "executor paid both");
        uint256 seizedCollateral = collateralToken.balanceOf(executor);
        assertEq(seizedValue, seizedCollateral * BAND_PRICE / 1e36, "executor holds the seized collateral");
        assertEq(_collateralOf(borrower), COLLATERAL - seizedCollateral, "collateral left the Morpho position");
        assertEq(_borrowed(borrower), DEBT - repayAmount, "debt repaid on Morpho");
        assertLt(_ltv(borrower), ltvBefore, "the position's LTV improved");
        assertEq(settlement.nonces(marketId, borrower), 1, "nonce advanced");
        assertEq(loanToken.balanceOf(address(settlement)), 0, "settlement holds nothing");
        assertEq(loanToken.balanceOf(address(adapter)), 0, "adapter holds nothing");
        assertEq(loanToken.allowance(address(settlement), address(adapter)), 0, "no allowance left");
        // The incentive: the executor bought collateral worth more than it repaid, the premium paid from that.
        assertGt(seizedValue, repayAmount + PREMIUM, "the award was worth its premium");
    }

    function test_settle_of_a_flagged_account_clears_the_flag_once_out_of_the_band() public {
        _openBandPosition();
        settlement.flagUnhealthy(marketId, borrower);
        assertGt(settlement.unhealthySince(marketId, borrower), 0, "flagged");
        vm.expectEmit(true, true, false, false, address(settlement));
        emit LiquidationSettlement.UnhealthyCleared(marketId, borrower);
        _settle(_award(marketId, borrower, adapter.maxRepay(borrower), PREMIUM));
        assertEq(settlement.unhealthySince(marketId, borrower), 0, "flag cleared: the position left the band");
    }

    function test_settle_refuses_a_borrower_who_did_not_opt_in() public {
        _openPosition(borrower, COLLATERAL, DEBT, false);
        oracle.setPrice(BAND_PRICE);
        LiquidationSettlement.Award memory award = _award(marketId, borrower, 1_000e18, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AccountNotLiquidatable.selector, borrower));
        vm.prank(executor);
        settlement.settle(award, signatures);
    }

    function test_settle_refuses_once_the_borrower_revokes_the_authorization() public {
        _openBandPosition();
        LiquidationSettlement.Award memory award = _award(marketId, borrower, 1_000e18, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.prank(borrower);
        morpho.setAuthorization(address(adapter), false);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AccountNotLiquidatable.selector, borrower));
        vm.prank(executor);
        settlement.settle(award, signatures);
        assertEq(settlement.nonces(marketId, borrower), 0, "the award is still unspent");
    }

    function test_settle_refuses_beyond_lltv_where_morpho_liquidates() public {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        oracle.setPrice(1700e36);
        LiquidationSettlement.Award memory award = _award(marketId, borrower, 1_000e18, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AccountNotLiquidatable.selector, borrower));
        vm.prank(executor);
        settlement.settle(award, signatures);
    }

    function test_settle_refuses_a_repay_above_the_close_factor() public {
        _openBandPosition();
        uint256 maxRepayAmount = adapter.maxRepay(borrower);
        LiquidationSettlement.Award memory award = _award(marketId, borrower, maxRepayAmount + 1, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(
            abi.encodeWithSelector(LiquidationSettlement.RepayAboveMax.selector, maxRepayAmount + 1, maxRepayAmount)
        );
        vm.prank(executor);
        settlement.settle(award, signatures);
    }

    function test_successive_awards_walk_the_position_out_of_the_band() public {
        _openBandPosition();
        uint256 rounds;
        while (adapter.isLiquidatable(borrower)) {
            uint256 ltvBefore = _ltv(borrower);
            _settle(_award(marketId, borrower, adapter.maxRepay(borrower), PREMIUM));
            assertLt(_ltv(borrower), ltvBefore, "every round lowers the LTV");
            ++rounds;
            require(rounds < 20, "the band must be left in a few rounds");
        }
        assertEq(settlement.nonces(marketId, borrower), rounds, "one nonce per round");
        assertEq(loanToken.balanceOf(beneficiary), rounds * PREMIUM, "every round paid its premium");
        assertEq(
            uint256(adapter.status(borrower).band), uint256(MorphoPreLiquidation.Band.Healthy), "back below preLltv"
        );
    }

    function test_registration_requires_the_adapter_admin() public {
        MorphoPreLiquidation second = _deployAdapter(_defaultParams());
        vm.expectRevert(
            abi.encodeWithSelector(LiquidationSettlement.OnlyMarketAdmin.selector, address(this), marketAdmin)
        );
        settlement.registerMarket(address(second), beneficiary, RESERVE_PREMIUM);
    }
}
