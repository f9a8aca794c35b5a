// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RouterHelper} from "./Helper.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";

/// @notice The volatility estimate depends on the feeds' price paths in time only: not on who calls
/// `update`, when, or how often, and not on one feed's wobble inside the deviation bound.
contract VolatilityTest is RouterHelper {
    function test_volatility_repeated_unchanged_rounds_do_not_erase_the_estimate() public {
        vm.warp(block.timestamp + 100);
        _setBoth(2200e8);
        router.update(asset);
        uint256 snapshot = vm.snapshotState();
        vm.warp(block.timestamp + 100);
        _setBoth(2200e8);
        uint256 quiet = router.volatility(asset); // the same 100 s with a single round

        vm.revertToState(snapshot);
        for (uint256 second = 0; second < 100; ++second) {
            vm.warp(block.timestamp + 1);
            _setBoth(2200e8); // a heartbeat round every second, unchanged
            router.update(asset);
        }
        assertApproxEqRel(router.volatility(asset), quiet, 1e9, "a hundred unchanged rounds decay it like 100 s");
        assertGt(router.volatility(asset), 0.09e18, "the 10% move still shows");
    }

    function test_volatility_an_update_between_two_feeds_rounds_does_not_inflate_it() public {
        uint256 snapshot = vm.snapshotState();
        vm.warp(block.timestamp + 100);
        feedA.setPrice(2020e8);
        vm.warp(block.timestamp + 1);
        feedB.setPrice(2020e8);
        router.update(asset);
        vm.warp(block.timestamp + 10);
        uint256 withoutExtraCall = router.volatility(asset);

        vm.revertToState(snapshot);
        vm.warp(block.timestamp + 100);
        feedA.setPrice(2020e8);
        router.update(asset); // a permissionless call between feed A's round and feed B's
        vm.warp(block.timestamp + 1);
        feedB.setPrice(2020e8);
        router.update(asset);
        vm.warp(block.timestamp + 10);
        assertApproxEqRel(router.volatility(asset), withoutExtraCall, 1e9, "the extra call changes nothing");
    }

    function test_volatility_one_feed_moving_within_the_deviation_bound_cannot_drive_it_up() public {
        for (uint256 second = 1; second <= 600; ++second) {
            vm.warp(block.timestamp + 1);
            feedA.setPrice(second % 2 == 0 ? int256(2000e8) : int256(2035e8)); // 1.75%, inside the 2% bound
            feedB.setPrice(2000e8);
            router.update(asset);
        }
        assertEq(router.anomalyFlags(asset), 0, "the wobble stays inside the bounds");
        assertLt(router.volatility(asset), 0.01e18, "one feed alone cannot raise the estimate");
    }

    /// @dev A fixed path of rounds (which feed, what price, when); two schedules of `update` calls that
    /// each see every round: one right after each round, one at random moments with random extra calls
    /// (including between two feeds' rounds). The estimates agree to rounding.
    function testFuzz_volatility_is_independent_of_update_timing(uint256 pathSeed, uint256 scheduleSeed) public {
        uint256 rounds = 8;
        uint256[] memory gaps = new uint256[](rounds);
        int256[] memory answers = new int256[](rounds);
        bool[] memory onFeedA = new bool[](rounds);
        int256 answerA = 2000e8;
        int256 answerB = 2000e8;
        for (uint256 k = 0; k < rounds; ++k) {
            uint256 draw = uint256(keccak256(abi.encode(pathSeed, k)));
            gaps[k] = bound(draw % 1000, 2, 300); // the path stays within the feeds' staleness
            onFeedA[k] = (draw >> 16) % 2 == 0;
            int256 previous = onFeedA[k] ? answerA : answerB;
            // a move of -1.5% .. +1.5% of the feed's last answer
            int256 move = previous * (int256(bound((draw >> 32) % 3001, 0, 3000)) - 1500) / 100_000;
            answers[k] = previous + move;
            if (onFeedA[k]) answerA = answers[k];
            else answerB = answers[k];
        }
        uint256 start = block.timestamp;
        uint256 snapshot = vm.snapshotState();
        _replay(gaps, answers, onFeedA, 0);
        vm.warp(start + rounds * 300 + 200);
        uint256 referenceEstimate = router.volatility(asset);

        vm.revertToState(snapshot);
        _replay(gaps, answers, onFeedA, scheduleSeed | 1);
        vm.warp(start + rounds * 300 + 200);
        uint256 other = router.volatility(asset);
        assertApproxEqRel(other, referenceEstimate, 1e9, "same path, same estimate");
        assertGt(referenceEstimate, 0, "the path moved");
    }

    /// @dev Publishes the rounds; with `scheduleSeed == 0` updates right after each one, otherwise at
    /// random offsets in each gap, sometimes twice, sometimes not at all (but never letting a feed
    /// publish twice without an update in between, since only its latest round is readable).
    function _replay(uint256[] memory gaps, int256[] memory answers, bool[] memory onFeedA, uint256 scheduleSeed)
        private
    {
        bool pendingA;
        bool pendingB;
        for (uint256 k = 0; k < gaps.length; ++k) {
            uint256 draw = uint256(keccak256(abi.encode(scheduleSeed, k)));
            uint256 roundAt = block.timestamp + gaps[k];
            if (scheduleSeed != 0 && draw % 3 != 0) {
                vm.warp(block.timestamp + bound(draw >> 8, 1, gaps[k] - 1));
                router.update(asset);
                pendingA = false;
                pendingB = false;
            }
            if ((onFeedA[k] && pendingA) || (!onFeedA[k] && pendingB)) {
                router.update(asset);
                pendingA = false;
                pendingB = false;
            }
            vm.warp(roundAt);
            if (onFeedA[k]) {
                feedA.setPrice(answers[k]);
                pendingA = true;
            } else {
                feedB.setPrice(answers[k]);
                pendingB = true;
            }
            if (scheduleSeed == 0 || (draw >> 64) % 2 == 0) {
                router.update(asset);
                pendingA = false;
                pendingB = false;
            }
            if (scheduleSeed != 0 && (draw >> 72) % 4 == 0) router.update(asset); // a repeated call
        }
        router.update(asset);
    }
}
