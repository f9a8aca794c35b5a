// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RouterHelper} from "./Helper.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";

/// @notice The price rules: median, lowest on disagreement, fallback to a surviving feed, no price
/// without one, and the anomaly flags.
contract PeekTest is RouterHelper {
    function test_peek_two_agreeing_feeds_give_their_mean() public {
        feedA.setPrice(2000e8);
        feedB.setPrice(2010e8); // 0.5% apart
        (uint256 priceWad,, uint256 flags) = router.peek(asset);
        assertEq(priceWad, 2005e18, "mean of the two");
        assertEq(flags, 0, "sound");
    }

    function test_peek_three_feeds_give_the_median() public {
        MockPriceFeed feedC = new MockPriceFeed(18, 2015e18); // an 18-decimal feed
        address[] memory feeds = new address[](3);
        feeds[0] = address(feedA);
        feeds[1] = address(feedB);
        feeds[2] = address(feedC);
        feedB.setPrice(2020e8);
        address third = address(0xE8);
        vm.prank(owner);
        router.setAsset(third, feeds, _config(), 0);
        assertEq(router.price(third), 2015e18, "median of 2000, 2015, 2020");
    }

    function test_peek_disagreeing_feeds_give_the_lowest_and_flag_deviation() public {
        feedB.setPrice(2100e8); // 5% apart
        (uint256 priceWad,, uint256 flags) = router.peek(asset);
        assertEq(priceWad, 2000e18, "conservative: the lowest");
        assertEq(flags, router.FLAG_DEVIATION(), "deviation flagged");
    }

    function test_peek_falls_back_to_the_surviving_feed_when_one_is_stale() public {
        vm.warp(block.timestamp + 30 minutes);
        feedB.setPrice(1990e8);
        vm.warp(block.timestamp + 31 minutes); // feed A is now 61 minutes old
        (uint256 priceWad,, uint256 flags) = router.peek(asset);
        assertEq(priceWad, 1990e18, "the fresh feed");
        assertEq(flags, router.FLAG_FEED_DOWN(), "a feed is down");
    }

    function test_peek_treats_non_positive_future_dated_and_reverting_feeds_as_down() public {
        feedA.setPrice(0);
        assertEq(router.anomalyFlags(asset), router.FLAG_FEED_DOWN(), "zero answer");
        feedA.setPrice(-1);
        assertEq(router.anomalyFlags(asset), router.FLAG_FEED_DOWN(), "negative answer");
        feedA.setPrice(2000e8);
        feedA.setUpdatedAt(block.timestamp + 1);
        assertEq(router.anomalyFlags(asset), router.FLAG_FEED_DOWN(), "future-dated round");
        assertEq(router.price(asset), 2000e18, "feed B still prices the asset");
    }

    function test_peek_reverts_without_any_valid_feed() public {
        vm.warp(block.timestamp + 1 hours + 1);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.NoValidPrice.selector, asset));
        router.peek(asset);
    }

    function test_peek_reverts_for_unknown_asset() public {
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.UnknownAsset.selector, address(0xABC)));
        router.peek(address(0xABC));
    }

    function test_peek_flags_a_jump_beyond_the_bound() public {
        _setBoth(2200e8); // exactly 10%: not beyond
        assertEq(router.anomalyFlags(asset), 0, "at the bound");
        _setBoth(2200e8 + 1);
        assertEq(router.anomalyFlags(asset), router.FLAG_JUMP(), "beyond the bound");
        _setBoth(1799e8);
        assertEq(router.anomalyFlags(asset), router.FLAG_JUMP(), "down as well as up");
    }

    function testFuzz_peek_price_lies_between_the_valid_feeds(uint256 first, uint256 second) public {
        int256 answerA = int256(bound(first, 1, 1e20));
        int256 answerB = int256(bound(second, 1, 1e20));
        feedA.setPrice(answerA);
        feedB.setPrice(answerB);
        uint256 low = uint256(answerA < answerB ? answerA : answerB) * 1e10;
        uint256 high = uint256(answerA < answerB ? answerB : answerA) * 1e10;
        (uint256 priceWad,, uint256 flags) = router.peek(asset);
        assertGe(priceWad, low, "not below the lowest");
        assertLe(priceWad, high, "not above the highest");
        if (flags & router.FLAG_DEVIATION() != 0) assertEq(priceWad, low, "disagreement: the lowest");
    }

    function test_peek_three_feeds_one_outlier_cannot_move_the_price() public {
        MockPriceFeed feedC = new MockPriceFeed(8, 2000e8);
        address[] memory feeds = new address[](3);
        feeds[0] = address(feedA);
        feeds[1] = address(feedB);
        feeds[2] = address(feedC);
        address third = address(0xE8);
        vm.prank(owner);
        router.setAsset(third, feeds, _config(), 0);
        feedA.setPrice(2010e8);
        feedC.setPrice(1e8); // one feed lies far below
        (uint256 priceWad,, uint256 flags) = router.peek(third);
        assertEq(priceWad, 2000e18, "the median of 1, 2000 and 2010");
        assertEq(flags & router.FLAG_DEVIATION(), router.FLAG_DEVIATION(), "the outlier is an anomaly");
        feedC.setPrice(1_000_000e8); // or far above
        assertEq(router.price(third), 2010e18, "the median of 2000, 2010 and 1,000,000");
    }

    function testFuzz_peek_median_of_three_stays_within_the_two_honest_feeds(uint256 outlierSeed, uint256 spreadSeed)
        public
    {
        MockPriceFeed feedC = new MockPriceFeed(8, 2000e8);
        address[] memory feeds = new address[](3);
        feeds[0] = address(feedA);
        feeds[1] = address(feedB);
        feeds[2] = address(feedC);
        address third = address(0xE8);
        vm.prank(owner);
        router.setAsset(third, feeds, _config(), 0);
        int256 honestLow = 2000e8;
        int256 honestHigh = honestLow + int256(bound(spreadSeed, 0, 40e8));
        feedA.setPrice(honestLow);
        feedB.setPrice(honestHigh);
        feedC.setPrice(int256(bound(outlierSeed, 1, 1e30)));
        uint256 priceWad = router.price(third);
        // casting to 'uint256' is safe because both honest answers are positive
        // forge-lint: disable-next-line(unsafe-typecast)
        assertGe(priceWad, uint256(honestLow) * 1e10, "not below the honest feeds");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertLe(priceWad, uint256(honestHigh) * 1e10, "not above the honest feeds");
    }
}
