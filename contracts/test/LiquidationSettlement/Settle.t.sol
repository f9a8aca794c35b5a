// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {NoReturnToken} from "../mocks/NoReturnToken.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

contract SettleTest is SettlementHelper {
    // ------------------------------------------------------------------ happy path

    function test_settle_liquidates_and_pays_premium_to_beneficiary() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        uint256 executorDebtBefore = _balanceOf(debtAsset, executor);
        uint256 debtBefore = engine.debtOf(borrower);
        uint256 collateralBefore = engine.collateralOf(borrower, address(weth));
        uint256 expectedSeizedValue = engine.previewSeize(borrower, REPAY);

        uint256 seizedValue = _settle(award, _signatures(award, 2));

        // 7,500 repaid * 1.05 = 7,875 of collateral value at 1,600 = 4.921875 WETH, less one wei of
        // rounding in the protocol's favour.
        assertEq(seizedValue, 7_875e18 - 1, "seized value is repay plus the 5% bonus");
        assertEq(seizedValue, expectedSeizedValue, "seized value matches previewSeize");
        assertEq(weth.balanceOf(executor), 4.921875e18 - 1, "executor receives the seized collateral");
        assertEq(
            engine.collateralOf(borrower, address(weth)),
            collateralBefore - (4.921875e18 - 1),
            "account collateral reduced"
        );
        assertEq(engine.debtOf(borrower), debtBefore - REPAY, "account debt reduced by the repay");
        assertEq(_balanceOf(debtAsset, beneficiary), PREMIUM, "beneficiary receives exactly the premium");
        assertEq(_balanceOf(debtAsset, executor), executorDebtBefore - REPAY - PREMIUM, "executor pays repay + premium");
        assertEq(settlement.nonces(marketId, borrower), 1, "nonce advanced");
        _assertSettlementHoldsNothing();
    }

    function test_settle_emits_Settled() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectEmit(true, true, true, true, address(settlement));
        emit LiquidationSettlement.Settled(
            award.intentId, marketId, borrower, 0, executor, REPAY, PREMIUM, 7_875e18 - 1
        );
        _settle(award, signatures);
    }

    function test_settle_accepts_all_committee_signatures_in_any_order() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = new bytes[](3);
        signatures[0] = _signature(attesterKeys[2], award);
        signatures[1] = _signature(attesterKeys[0], award);
        signatures[2] = _signature(attesterKeys[1], award);
        _settle(award, signatures);
        assertEq(settlement.nonces(marketId, borrower), 1, "nonce advanced");
    }

    function test_settle_accepts_award_at_its_deadline() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        vm.warp(award.deadline);
        _settle(award, _signatures(award, 2));
        assertEq(settlement.nonces(marketId, borrower), 1, "nonce advanced");
    }

    function test_settle_opens_next_nonce_for_a_still_unhealthy_account() public {
        LiquidationSettlement.Award memory first = _award(1_000e18, PREMIUM);
        _settle(first, _signatures(first, 2));
        assertTrue(engine.isLiquidatable(borrower), "still unhealthy after a small repay");

        LiquidationSettlement.Award memory second = _award(1_000e18, PREMIUM);
        assertEq(second.nonce, 1, "second award uses the next nonce");
        assertTrue(second.intentId != first.intentId, "next round has a new intent id");
        _settle(second, _signatures(second, 2));
        assertEq(settlement.nonces(marketId, borrower), 2, "nonce advanced twice");
    }

    function test_settle_works_with_tokens_that_return_no_bool() public {
        _deploy(address(new NoReturnToken()), 3, 2);
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        _settle(award, _signatures(award, 2));
        assertEq(_balanceOf(debtAsset, beneficiary), PREMIUM, "beneficiary receives exactly the premium");
        assertEq(weth.balanceOf(executor), 4.921875e18 - 1, "executor receives the seized collateral");
        _assertSettlementHoldsNothing();
    }

    function testFuzz_settle_any_repay_up_to_max_moves_exact_amounts(uint256 repayAmount, uint256 premium) public {
        uint256 maxRepayAmount = engine.maxRepay(borrower);
        repayAmount = bound(repayAmount, 1e15, maxRepayAmount);
        premium = bound(premium, RESERVE_PREMIUM, 1_000_000e18);
        uint256 expectedSeizedValue = engine.previewSeize(borrower, repayAmount);
        uint256 debtBefore = engine.debtOf(borrower);
        uint256 collateralBefore = engine.collateralOf(borrower, address(weth));

        LiquidationSettlement.Award memory award = _award(repayAmount, premium);
        uint256 seizedValue = _settle(award, _signatures(award, 2));

        uint256 seizedCollateral = weth.balanceOf(executor);
        assertEq(seizedValue, expectedSeizedValue, "seized value matches previewSeize");
        assertEq(engine.debtOf(borrower), debtBefore - repayAmount, "debt reduced by exactly the repay");
        assertEq(
            engine.collateralOf(borrower, address(weth)), collateralBefore - seizedCollateral, "collateral conserved"
        );
        // Rounding favours the protocol: the collateral taken is never worth more than the seized value.
        assertLe(seizedCollateral * 1600, seizedValue, "seizure rounds down");
        assertEq(_balanceOf(debtAsset, beneficiary), premium, "beneficiary receives exactly the premium");
        _assertSettlementHoldsNothing();
    }

    // ------------------------------------------------------------------ signatures

    function test_settle_rejects_signature_over_a_different_award() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        award.premium = RESERVE_PREMIUM; // the executor tries to pay less than it bid
        address recovered = _recover(settlement.hashAward(award), signatures[0]);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.SignerNotAttester.selector, 0, recovered));
        _settle(award, signatures);
    }

    function test_settle_rejects_signature_of_wrong_length() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        signatures[1] = abi.encodePacked(signatures[1], uint8(0));
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidSignatureLength.selector, 1, 66));
        _settle(award, signatures);
    }

    function test_settle_rejects_malleable_high_s_signature() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(attesterKeys[1], settlement.hashAward(award));
        // (r, n - s, flipped v) recovers the same signer: the malleable twin.
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        signatures[1] = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidSignature.selector, 1));
        _settle(award, signatures);
    }

    function test_settle_rejects_too_few_signatures() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 1);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.TooFewSignatures.selector, 1, 2));
        _settle(award, signatures);
    }

    function test_settle_rejects_duplicate_signer() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = new bytes[](2);
        signatures[0] = _signature(attesterKeys[0], award);
        signatures[1] = signatures[0];
        vm.expectRevert(
            abi.encodeWithSelector(LiquidationSettlement.DuplicateSigner.selector, 1, vm.addr(attesterKeys[0]))
        );
        _settle(award, signatures);
    }

    function test_settle_rejects_non_committee_signer() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        uint256 outsiderKey = 0xBAD;
        signatures[1] = _signature(outsiderKey, award);
        vm.expectRevert(
            abi.encodeWithSelector(LiquidationSettlement.SignerNotAttester.selector, 1, vm.addr(outsiderKey))
        );
        _settle(award, signatures);
    }

    // ------------------------------------------------------------------ award validity

    function test_settle_rejects_expired_award() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.warp(award.deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(LiquidationSettlement.AwardExpired.selector, award.deadline, award.deadline + 1)
        );
        _settle(award, signatures);
    }

    function test_settle_rejects_caller_other_than_executor() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        address thief = address(0x7E1F);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.NotExecutor.selector, thief, executor));
        vm.prank(thief);
        settlement.settle(award, signatures);
    }

    function test_settle_rejects_replayed_award() public {
        LiquidationSettlement.Award memory award = _award(1_000e18, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        _settle(award, signatures);
        assertTrue(engine.isLiquidatable(borrower), "account still liquidatable, so only the nonce stops a replay");

        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.StaleNonce.selector, 0, 1));
        _settle(award, signatures);
    }

    function test_settle_rejects_intent_id_not_derived_from_the_nonce() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes32 expected = award.intentId;
        award.intentId = keccak256("some other intent");
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(
            abi.encodeWithSelector(LiquidationSettlement.IntentIdMismatch.selector, award.intentId, expected)
        );
        _settle(award, signatures);
    }

    function test_settle_rejects_unknown_market() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        award.marketId = settlement.marketIdOf(address(0xDEAD));
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.UnknownMarket.selector, award.marketId));
        _settle(award, signatures);
    }

    function test_settle_rejects_paused_market() public {
        vm.prank(marketAdmin);
        settlement.setMarketPaused(marketId, true);
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.MarketIsPaused.selector, marketId));
        _settle(award, signatures);
    }

    function test_settle_rejects_premium_below_reserve() public {
        LiquidationSettlement.Award memory award = _award(REPAY, RESERVE_PREMIUM - 1);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(
            abi.encodeWithSelector(
                LiquidationSettlement.PremiumBelowReserve.selector, RESERVE_PREMIUM - 1, RESERVE_PREMIUM
            )
        );
        _settle(award, signatures);
    }

    // ------------------------------------------------------------------ market state

    function test_settle_rejects_healthy_account() public {
        _setWethPrice(2000e8); // back above maintenance
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AccountNotLiquidatable.selector, borrower));
        _settle(award, signatures);
    }

    function test_settle_rejects_repay_above_max_repay() public {
        uint256 maxRepayAmount = engine.maxRepay(borrower);
        LiquidationSettlement.Award memory award = _award(maxRepayAmount + 1, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(
            abi.encodeWithSelector(LiquidationSettlement.RepayAboveMax.selector, maxRepayAmount + 1, maxRepayAmount)
        );
        _settle(award, signatures);
    }

    function test_settle_rejects_zero_repay() public {
        LiquidationSettlement.Award memory award = _award(0, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(LiquidationSettlement.ZeroRepay.selector);
        _settle(award, signatures);
    }

    function test_settle_rejects_when_no_feed_has_a_fresh_price() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        wethFeedA.setUpdatedAt(block.timestamp - MAX_STALENESS - 1);
        wethFeedB.setUpdatedAt(block.timestamp - MAX_STALENESS - 1);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.NoValidPrice.selector, address(weth)));
        _settle(award, signatures);
    }

    function test_settle_continues_on_the_surviving_feed_when_one_is_stale() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        wethFeedA.setUpdatedAt(block.timestamp - MAX_STALENESS - 1);
        _settle(award, signatures);
        assertEq(settlement.nonces(marketId, borrower), 1, "liquidation went through on the fallback feed");
    }

    function test_settle_of_the_close_factor_restarts_the_grace_period_of_a_still_unhealthy_account() public {
        settlement.flagUnhealthy(marketId, borrower);
        vm.warp(block.timestamp + 60);
        _setWethPrice(1600e8);
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        vm.expectEmit(true, true, false, true, address(settlement));
        emit LiquidationSettlement.UnhealthyFlagged(marketId, borrower, block.timestamp);
        _settle(award, _signatures(award, 2));
        assertTrue(engine.isLiquidatable(borrower), "8,125 against 8,250: still under");
        assertEq(settlement.unhealthySince(marketId, borrower), block.timestamp, "the network delivered: grace restarts");
    }

    // ------------------------------------------------------------------ replay

    function test_settle_rejects_award_signed_for_another_chain() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.chainId(block.chainid + 1);
        award.intentId = settlement.intentIdOf(marketId, borrower, 0); // even with the id re-derived
        vm.expectRevert(); // the domain separator differs, so the signers recover to strangers
        _settle(award, signatures);
    }

    function test_settle_rejects_award_signed_for_another_settlement_contract() public {
        LiquidationSettlement other = new LiquidationSettlement(owner, settlement.attesters(), 2);
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = new bytes[](2);
        for (uint256 i = 0; i < 2; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(attesterKeys[i], other.hashAward(award));
            signatures[i] = abi.encodePacked(r, s, v);
        }
        vm.expectRevert();
        _settle(award, signatures);
    }

    function test_settle_rejects_award_moved_to_another_account() public {
        _setWethPrice(2000e8);
        _openPosition(address(0xA11), weth, 10e18, 15_000e18);
        _setWethPrice(1600e8);
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        award.account = address(0xA11);
        vm.expectRevert(
            abi.encodeWithSelector(
                LiquidationSettlement.IntentIdMismatch.selector,
                award.intentId,
                settlement.intentIdOf(marketId, address(0xA11), 0)
            )
        );
        _settle(award, signatures);
    }

    function test_settle_rejects_award_moved_to_another_market() public {
        MarginEngine second = new MarginEngine(marketAdmin, debtAsset, address(router), _riskParams());
        vm.prank(marketAdmin);
        bytes32 secondId = settlement.registerMarket(address(second), beneficiary, RESERVE_PREMIUM);
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        award.marketId = secondId;
        vm.expectRevert(
            abi.encodeWithSelector(
                LiquidationSettlement.IntentIdMismatch.selector,
                award.intentId,
                settlement.intentIdOf(secondId, borrower, 0)
            )
        );
        _settle(award, signatures);
    }

    // ------------------------------------------------------------------ helpers

    function _assertSettlementHoldsNothing() internal view {
        assertEq(_balanceOf(debtAsset, address(settlement)), 0, "settlement holds no debt asset");
        assertEq(weth.balanceOf(address(settlement)), 0, "settlement holds no collateral");
        (bool ok, bytes memory data) = debtAsset.staticcall(
            abi.encodeWithSignature("allowance(address,address)", address(settlement), address(engine))
        );
        require(ok, "allowance call failed");
        assertEq(abi.decode(data, (uint256)), 0, "settlement leaves no allowance to the adapter");
    }

    function _recover(bytes32 digest, bytes memory signature) internal pure returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
            v := byte(0, mload(add(signature, 96)))
        }
        return ecrecover(digest, v, r, s);
    }

    // ------------------------------------------------------------------ the grace period

    function test_settle_dust_awards_do_not_keep_the_open_path_shut() public {
        settlement.flagUnhealthy(marketId, borrower);
        uint256 flaggedAt = block.timestamp;
        for (uint256 i = 0; i < 5; ++i) {
            vm.warp(block.timestamp + 60);
            _setWethPrice(1600e8);
            LiquidationSettlement.Award memory award = _award(1e18, RESERVE_PREMIUM); // one dollar of 15,000
            _settle(award, _signatures(award, 2));
        }
        vm.warp(flaggedAt + settlement.DEFAULT_GRACE_PERIOD() + 1);
        _setWethPrice(1600e8);
        assertTrue(settlement.isOpenLiquidatable(marketId, borrower), "the grace period ran on");
        address keeper = address(0x4EE9);
        TestToken(debtAsset).mint(keeper, 10_000e18);
        _approve(debtAsset, keeper, address(settlement), type(uint256).max);
        vm.prank(keeper);
        settlement.liquidateOpen(marketId, borrower, 1_000e18);
    }

    function test_settle_of_the_close_factor_restarts_the_grace_period() public {
        settlement.flagUnhealthy(marketId, borrower);
        vm.warp(block.timestamp + 60);
        _setWethPrice(1590e8);
        LiquidationSettlement.Award memory award = _award(engine.maxRepay(borrower), PREMIUM);
        _settle(award, _signatures(award, 2));
        assertTrue(engine.isLiquidatable(borrower), "still under: the price kept falling");
        vm.warp(block.timestamp + settlement.DEFAULT_GRACE_PERIOD());
        _setWethPrice(1590e8);
        assertFalse(settlement.isOpenLiquidatable(marketId, borrower), "the network delivered: a fresh grace period");
    }

    function test_settle_that_restores_health_clears_the_flag() public {
        _setWethPrice(1620e8);
        settlement.flagUnhealthy(marketId, borrower);
        LiquidationSettlement.Award memory award = _award(7_500e18, PREMIUM);
        _settle(award, _signatures(award, 2));
        assertFalse(engine.isLiquidatable(borrower), "healthy");
        assertEq(settlement.unhealthySince(marketId, borrower), 0, "no flag");
    }
}
