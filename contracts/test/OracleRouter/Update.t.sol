// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RouterHelper} from "./Helper.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";

/// @notice update(): the EWMA volatility, the recorded observation and the jump cooldown.
contract UpdateTest is RouterHelper {
    function test_update_applies_the_ewma_to_each_new_round() public {
        vm.warp(block.timestamp + 100);
        _setBoth(2200e8); // r = 0.1: each feed's variance rate becomes r^2 / tau = 0.01 / 3600 per second
        vm.expectEmit(true, false, false, true, address(router));
        emit OracleRouter.PriceObserved(asset, 2200e18, 100_000_000_000_003_999, 0);
        (uint256 priceWad, uint256 volatilityWad, uint256 flags) = router.update(asset);
        assertEq(priceWad, 2200e18, "price");
        assertEq(volatilityWad, 100_000_000_000_003_999, "sqrt(0.01 / 3600 * 3600): 10% per hour, rounded up");
        assertEq(flags, 0, "a 10% move is within the bound");
        (uint128 recordedPrice, uint40 observedAt,) = router.stateOf(asset);
        assertEq(recordedPrice, 2200e18, "recorded price");
        assertEq(observedAt, block.timestamp, "recorded time");
        OracleRouter.FeedState memory record = router.feedStateOf(asset, 0);
        assertEq(record.varianceRateWad, 2_777_777_777_778, "ceil(0.01e18 / 3600)");
        assertEq(record.updatedAt, block.timestamp, "at the round's time");

        vm.warp(block.timestamp + 100);
        _setBoth(2200e8); // no move: the estimate decays by (1 - 1/3600)^100, as time alone would
        router.update(asset);
        assertEq(router.feedStateOf(asset, 1).varianceRateWad, 2_701_668_678_046, "decayed per second");
        assertEq(router.volatility(asset), 98_620_521_398_771_766, "sqrt of the decayed rate");
    }

    function test_update_decays_with_time_between_rounds() public {
        vm.warp(block.timestamp + 100);
        _setBoth(2200e8);
        router.update(asset);
        uint256 atRound = router.volatility(asset);
        vm.warp(block.timestamp + 100); // no round at all
        assertEq(router.volatility(asset), 98_620_521_398_771_766, "the view decays to now");
        assertLt(router.volatility(asset), atRound, "lower than at the round");
    }

    function test_update_is_idempotent_without_a_new_round() public {
        vm.warp(block.timestamp + 100);
        _setBoth(2100e8);
        (uint256 firstPrice, uint256 firstVolatility,) = router.update(asset);
        (uint256 secondPrice, uint256 secondVolatility,) = router.update(asset);
        assertEq(secondPrice, firstPrice, "same price");
        assertEq(secondVolatility, firstVolatility, "the same round is not counted twice");
    }

    function test_update_keeps_a_jump_flagged_for_the_cooldown() public {
        vm.warp(block.timestamp + 10);
        _setBoth(3000e8);
        (,, uint256 flags) = router.update(asset);
        assertEq(flags, router.FLAG_JUMP(), "jump");
        (,, uint40 anomalyUntil) = router.stateOf(asset);
        assertEq(anomalyUntil, block.timestamp + 10 minutes, "cooldown recorded");

        vm.warp(block.timestamp + 10 minutes - 1);
        _setBoth(3000e8);
        assertEq(router.anomalyFlags(asset), router.FLAG_JUMP(), "still cooling down");
        vm.warp(block.timestamp + 1);
        _setBoth(3000e8);
        assertEq(router.anomalyFlags(asset), 0, "cleared");
    }

    function test_volatility_rises_through_a_crash() public {
        uint256 previous = router.volatility(asset);
        int256 answer = 2000e8;
        for (uint256 step = 0; step < 5; ++step) {
            vm.warp(block.timestamp + 1);
            answer = answer * 95 / 100; // -5% a second
            _setBoth(answer);
            (,, uint256 flags) = router.update(asset);
            uint256 current = router.volatility(asset);
            assertGt(current, previous, "each crash step raises the estimate");
            assertEq(flags, 0, "5% steps are not jumps");
            previous = current;
        }
    }

    function testFuzz_update_returns_what_peek_saw(uint256 answerSeed, uint256 delaySeed) public {
        vm.warp(block.timestamp + bound(delaySeed, 0, 1 hours));
        _setBoth(int256(bound(answerSeed, 1e8, 1e12)));
        (uint256 peekPrice, uint256 peekVolatility, uint256 peekFlags) = router.peek(asset);
        (uint256 updatePrice, uint256 updateVolatility, uint256 updateFlags) = router.update(asset);
        assertEq(updatePrice, peekPrice, "price");
        assertEq(updateVolatility, peekVolatility, "volatility");
        assertEq(updateFlags, peekFlags, "flags");
        (uint256 againPrice, uint256 againVolatility, uint256 againFlags) = router.peek(asset);
        assertEq(againPrice, peekPrice, "price after recording");
        assertEq(againVolatility, peekVolatility, "volatility after recording");
        assertEq(againFlags, peekFlags, "flags after recording");
    }
}
