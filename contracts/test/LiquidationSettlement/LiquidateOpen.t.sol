// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice The open rung of the fallback ladder: liquidateOpen, flagUnhealthy, clearUnhealthy.
contract LiquidateOpenTest is SettlementHelper {
    address internal keeper = address(0x4EE9);

    function setUp() public override {
        super.setUp(); // the standard account: health 16,000 / 16,500 = 0.97, in the award-only band
        TestToken(debtAsset).mint(keeper, 1_000_000e18);
        _approve(debtAsset, keeper, address(settlement), type(uint256).max);
    }

    function test_liquidateOpen_rejects_account_in_the_award_only_band() public {
        uint256 health = uint256(16_000e18) * 1e18 / 16_500e18;
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AwardOnly.selector, health, 0));
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, 1_000e18);
        assertFalse(settlement.isOpenLiquidatable(marketId, borrower), "award only");
    }

    function test_liquidateOpen_below_the_permissionless_threshold_pays_bonus_and_no_premium() public {
        _setWethPrice(1500e8); // health 15,000 / 16,500 = 0.91 < 0.95; the collateral just covers the debt
        assertTrue(settlement.isOpenLiquidatable(marketId, borrower), "open");
        uint256 repayAmount = engine.maxRepay(borrower);
        assertEq(repayAmount, 15_000e18, "a full close: the whole debt buys all the collateral");
        uint256 keeperBefore = _balanceOf(debtAsset, keeper);

        vm.expectEmit(true, true, true, true, address(settlement));
        emit LiquidationSettlement.OpenLiquidated(marketId, borrower, keeper, 0, repayAmount, 15_000e18);
        vm.prank(keeper);
        uint256 seizedValue = settlement.liquidateOpen(marketId, borrower, repayAmount);

        assertEq(seizedValue, 15_000e18, "all collateral, its bonus capped at what it holds beyond the debt");
        assertEq(keeperBefore - _balanceOf(debtAsset, keeper), repayAmount, "the keeper pays the repay only");
        assertEq(_balanceOf(debtAsset, beneficiary), 0, "no premium");
        assertEq(weth.balanceOf(keeper), 10e18, "collateral to the keeper");
        assertEq(engine.debtOf(borrower), 0, "account closed");
        assertEq(engine.badDebt(), 0, "a solvent account leaves no bad debt");
        assertEq(settlement.nonces(marketId, borrower), 1, "the nonce is consumed");
        assertEq(_balanceOf(debtAsset, address(settlement)), 0, "nothing left behind");
    }

    function test_liquidateOpen_of_an_account_under_water_records_the_shortfall() public {
        _setWethPrice(1400e8); // 14,000 of collateral against 15,000 of debt
        uint256 repayAmount = engine.maxRepay(borrower);
        assertEq(repayAmount, 13_333_333_333_333_333_333_334, "ceil(14,000 / 1.05): all collateral at the bonus");
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, repayAmount);
        assertEq(engine.badDebt(), 15_000e18 - repayAmount, "the empty fund leaves the shortfall recorded");
    }

    function test_liquidateOpen_after_the_grace_period_of_a_flag() public {
        vm.expectEmit(true, true, false, true, address(settlement));
        emit LiquidationSettlement.UnhealthyFlagged(marketId, borrower, block.timestamp);
        settlement.flagUnhealthy(marketId, borrower);
        uint256 flaggedAt = block.timestamp;

        vm.warp(flaggedAt + settlement.DEFAULT_GRACE_PERIOD());
        _setWethPrice(1600e8); // keep the feeds fresh
        vm.expectRevert();
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, 1_000e18); // not yet: the grace period must pass

        vm.warp(flaggedAt + settlement.DEFAULT_GRACE_PERIOD() + 1);
        _setWethPrice(1600e8);
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, 1_000e18);
        assertEq(settlement.nonces(marketId, borrower), 1, "liquidated without the network");
    }

    function test_liquidateOpen_invalidates_an_outstanding_award() public {
        LiquidationSettlement.Award memory award = _award(1_000e18, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        _setWethPrice(1500e8);
        uint256 repayAmount = engine.maxRepay(borrower);
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, repayAmount);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.StaleNonce.selector, 0, 1));
        _settle(award, signatures);
    }

    function test_liquidateOpen_everywhere_below_maintenance_in_a_fully_open_market() public {
        vm.prank(marketAdmin);
        settlement.setLadder(marketId, 1e18, 0);
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, 1_000e18);
        assertEq(settlement.nonces(marketId, borrower), 1, "keeper baseline");
    }

    function test_liquidateOpen_rejects_healthy_account_repay_above_max_and_zero() public {
        _setWethPrice(1500e8);
        uint256 maxRepayAmount = engine.maxRepay(borrower);
        vm.startPrank(keeper);
        vm.expectRevert(
            abi.encodeWithSelector(LiquidationSettlement.RepayAboveMax.selector, maxRepayAmount + 1, maxRepayAmount)
        );
        settlement.liquidateOpen(marketId, borrower, maxRepayAmount + 1);
        vm.expectRevert(LiquidationSettlement.ZeroRepay.selector);
        settlement.liquidateOpen(marketId, borrower, 0);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AccountNotLiquidatable.selector, keeper));
        settlement.liquidateOpen(marketId, keeper, 1e18);
        vm.stopPrank();
    }

    function test_liquidateOpen_rejects_unknown_markets() public {
        _setWethPrice(1500e8);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.UnknownMarket.selector, bytes32(0)));
        settlement.liquidateOpen(bytes32(0), borrower, 1_000e18);
    }

    function test_flagUnhealthy_rejects_healthy_account_and_keeps_the_first_time() public {
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AccountNotLiquidatable.selector, keeper));
        settlement.flagUnhealthy(marketId, keeper);

        uint256 first = settlement.flagUnhealthy(marketId, borrower);
        vm.warp(block.timestamp + 30);
        _setWethPrice(1600e8);
        assertEq(settlement.flagUnhealthy(marketId, borrower), first, "a second flag changes nothing");
        assertEq(settlement.unhealthySince(marketId, borrower), first, "first time kept");
    }

    function test_clearUnhealthy_only_once_the_account_recovered() public {
        settlement.flagUnhealthy(marketId, borrower);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AccountStillUnhealthy.selector, borrower));
        settlement.clearUnhealthy(marketId, borrower);

        _setWethPrice(2000e8);
        vm.expectEmit(true, true, false, false, address(settlement));
        emit LiquidationSettlement.UnhealthyCleared(marketId, borrower);
        settlement.clearUnhealthy(marketId, borrower);
        assertEq(settlement.unhealthySince(marketId, borrower), 0, "a later dip starts a new grace period");
    }

    function testFuzz_liquidateOpen_is_refused_exactly_in_the_award_only_band(uint256 priceSeed) public {
        int256 answer = int256(bound(priceSeed, 1_000e8, 2_000e8));
        _setWethPrice(answer);
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = engine.accountHealth(borrower);
        bool liquidatable = debtValue > 0 && collateralValue < requirement;
        bool belowThreshold = collateralValue * 1e18 < settlement.DEFAULT_PERMISSIONLESS_HEALTH_WAD() * requirement;
        assertEq(settlement.isOpenLiquidatable(marketId, borrower), liquidatable && belowThreshold, "ladder");
        if (!liquidatable) return;
        uint256 repayAmount = engine.maxRepay(borrower);
        vm.prank(keeper);
        (bool ok,) = address(settlement)
            .call(abi.encodeCall(LiquidationSettlement.liquidateOpen, (marketId, borrower, repayAmount)));
        assertEq(ok, belowThreshold, "open path follows the ladder");
        // The award path works anywhere below maintenance.
        if (!ok) {
            LiquidationSettlement.Award memory award = _award(repayAmount, PREMIUM);
            _settle(award, _signatures(award, 2));
        }
    }

    // ------------------------------------------------------------------ the flag describes the present

    function test_liquidateOpen_that_restores_health_clears_the_flag() public {
        _setWethPrice(1620e8); // 16,200 against 16,500: award-only band
        settlement.flagUnhealthy(marketId, borrower);
        vm.warp(block.timestamp + settlement.DEFAULT_GRACE_PERIOD() + 1);
        _setWethPrice(1620e8);
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, 7_500e18); // leaves 8,325 against 8,250
        assertFalse(engine.isLiquidatable(borrower), "healthy again");
        assertEq(settlement.unhealthySince(marketId, borrower), 0, "the flag went with the dip");
    }

    function test_liquidateOpen_a_stale_flag_does_not_let_a_later_dip_skip_the_award_only_band() public {
        test_liquidateOpen_that_restores_health_clears_the_flag();
        vm.warp(block.timestamp + 1 hours - 1);
        _setWethPrice(1580e8); // under again, health 0.98: the award-only band
        assertTrue(engine.isLiquidatable(borrower), "a new dip");
        assertFalse(settlement.isOpenLiquidatable(marketId, borrower), "award only until flagged and waited for");
        vm.prank(keeper);
        (bool ok,) = address(settlement).call(
            abi.encodeCall(LiquidationSettlement.liquidateOpen, (marketId, borrower, 1_000e18))
        );
        assertFalse(ok, "the old flag does not open the path");
    }

    function test_clearUnhealthy_a_recovered_account_must_wait_a_new_grace_period() public {
        settlement.flagUnhealthy(marketId, borrower);
        _setWethPrice(2000e8);
        vm.prank(keeper);
        settlement.clearUnhealthy(marketId, borrower);
        vm.warp(block.timestamp + settlement.DEFAULT_GRACE_PERIOD() + 1);
        _setWethPrice(1600e8);
        assertFalse(settlement.isOpenLiquidatable(marketId, borrower), "a new dip starts from the award-only band");
    }

    // ------------------------------------------------------------------ pausing keeps the safety net

    function test_liquidateOpen_works_while_the_market_is_paused() public {
        _setWethPrice(1500e8); // below the permissionless threshold
        vm.prank(marketAdmin);
        settlement.setMarketPaused(marketId, true);
        assertTrue(settlement.isOpenLiquidatable(marketId, borrower), "open");
        uint256 repayAmount = engine.maxRepay(borrower);
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, repayAmount);
        assertEq(engine.debtOf(borrower), 0, "liquidated while awards are stopped");
    }

    function test_liquidateOpen_after_the_grace_period_while_the_market_is_paused() public {
        vm.prank(marketAdmin);
        settlement.setMarketPaused(marketId, true);
        settlement.flagUnhealthy(marketId, borrower);
        vm.warp(block.timestamp + settlement.DEFAULT_GRACE_PERIOD() + 1);
        _setWethPrice(1600e8);
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, 1_000e18);
        assertEq(settlement.nonces(marketId, borrower), 1, "the ladder runs while paused");
    }

    // ------------------------------------------------------------------ one disputed feed is not enough

    function test_liquidateOpen_a_feed_disagreeing_alone_does_not_open_the_permissionless_path() public {
        _setWethPrice(2000e8);
        wethFeedA.setPrice(1500e8); // feed A says health 0.91; feed B says 1.21
        assertTrue(engine.isLiquidatable(borrower), "under maintenance on the conservative price");
        assertFalse(settlement.isOpenLiquidatable(marketId, borrower), "but the other feed says healthy");
        vm.prank(keeper);
        (bool ok,) = address(settlement).call(
            abi.encodeCall(LiquidationSettlement.liquidateOpen, (marketId, borrower, 1_000e18))
        );
        assertFalse(ok, "no open liquidation on a disputed price");

        settlement.flagUnhealthy(marketId, borrower);
        vm.warp(block.timestamp + settlement.DEFAULT_GRACE_PERIOD() + 1);
        wethFeedA.setPrice(1500e8);
        wethFeedB.setPrice(2000e8);
        vm.prank(keeper);
        (ok,) = address(settlement).call(
            abi.encodeCall(LiquidationSettlement.liquidateOpen, (marketId, borrower, 1_000e18))
        );
        assertFalse(ok, "nor after the grace period");
    }

    function test_liquidateOpen_when_both_feeds_say_so() public {
        _setWethPrice(2000e8);
        wethFeedA.setPrice(1400e8);
        wethFeedB.setPrice(1500e8); // they disagree, but both put the account below the threshold
        assertTrue(settlement.isOpenLiquidatable(marketId, borrower), "open");
        uint256 repayAmount = engine.maxRepay(borrower);
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, repayAmount);
        assertEq(settlement.nonces(marketId, borrower), 1, "liquidated");
    }

    function test_an_owner_who_restores_health_clears_the_flag_by_repaying() public {
        settlement.flagUnhealthy(marketId, borrower);
        TestToken(debtAsset).mint(borrower, 2_000e18);
        vm.startPrank(borrower);
        TestToken(debtAsset).approve(address(engine), 2_000e18);
        engine.repay(2_000e18); // 16,000 against 14,300: healthy
        vm.stopPrank();
        assertEq(settlement.unhealthySince(marketId, borrower), 0, "the engine had the flag cleared");
        vm.warp(block.timestamp + settlement.DEFAULT_GRACE_PERIOD() + 1);
        _setWethPrice(1420e8); // 14,200 against 14,300: under again, award-only
        assertFalse(settlement.isOpenLiquidatable(marketId, borrower), "a later dip starts afresh");
    }

    function test_a_deposit_that_leaves_the_account_unhealthy_keeps_the_flag() public {
        uint256 flaggedAt = settlement.flagUnhealthy(marketId, borrower);
        _deposit(borrower, weth, 0.1e18); // 16,160 against 16,500: still under
        assertEq(settlement.unhealthySince(marketId, borrower), flaggedAt, "still the same dip");
        _deposit(borrower, weth, 1e18); // 17,760: healthy
        assertEq(settlement.unhealthySince(marketId, borrower), 0, "cleared once healthy");
    }
}
