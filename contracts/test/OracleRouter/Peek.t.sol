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

    // ------------------------------------------------------------------ open-path price and corroboration

    function test_peekForOpenPath_is_the_higher_of_two_feeds() public {
        feedB.setPrice(2010e8); // agreeing
        (uint256 openPrice,,) = router.peekForOpenPath(asset);
        assertEq(openPrice, 2010e18, "the higher of two agreeing feeds");
        assertEq(router.price(asset), 2005e18, "while the price is their mean");
        feedB.setPrice(2500e8); // disagreeing
        (openPrice,,) = router.peekForOpenPath(asset);
        assertEq(openPrice, 2500e18, "the feed that says the account is healthier");
        assertEq(router.price(asset), 2000e18, "while the price is the lower");
    }

    function test_peekForOpenPath_is_the_median_of_three() public {
        MockPriceFeed feedC = new MockPriceFeed(8, 2000e8);
        address third = _threeFeedAsset(feedC);
        feedC.setPrice(3000e8);
        (uint256 openPrice,,) = router.peekForOpenPath(third);
        assertEq(openPrice, 2000e18, "one outlier moves neither price");
    }

    function test_isCorroborated_needs_two_agreeing_feeds_around_the_price() public {
        assertTrue(router.isCorroborated(asset), "two agreeing feeds");
        feedB.setPrice(2100e8);
        assertFalse(router.isCorroborated(asset), "two disagreeing feeds");
        feedB.setPrice(2000e8);
        feedA.setUpdatedAt(block.timestamp - 1 hours - 1);
        assertFalse(router.isCorroborated(asset), "a single feed left");
        feedA.setPrice(2000e8);

        MockPriceFeed feedC = new MockPriceFeed(8, 2000e8);
        address third = _threeFeedAsset(feedC);
        feedC.setPrice(1e8);
        assertTrue(router.isCorroborated(third), "an outlier among three: the median still has a neighbour");
        assertEq(router.anomalyFlags(third) & router.FLAG_DEVIATION(), router.FLAG_DEVIATION(), "reported");
        feedC.setUpdatedAt(block.timestamp - 1 hours - 1);
        assertTrue(router.isCorroborated(third), "one of three down: two remain");
    }

    function test_peek_refuses_to_run_short_of_gas_rather_than_drop_a_feed() public {
        (bool ok, bytes memory reason) = address(router).staticcall{gas: 60_000}(abi.encodeCall(router.peek, (asset)));
        assertFalse(ok, "no price from a starved read");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(bytes4(reason), OracleRouter.InsufficientGasForFeeds.selector, "asks for more gas");
    }

    function testFuzz_peek_median_of_four_stays_within_the_three_honest_feeds(
        uint256 outlierSeed,
        uint256 firstSeed,
        uint256 secondSeed
    ) public {
        MockPriceFeed feedC = new MockPriceFeed(8, 2000e8);
        MockPriceFeed feedD = new MockPriceFeed(8, 2000e8);
        address[] memory feeds = new address[](4);
        feeds[0] = address(feedA);
        feeds[1] = address(feedB);
        feeds[2] = address(feedC);
        feeds[3] = address(feedD);
        address fourth = address(0xE4);
        vm.prank(owner);
        router.setAsset(fourth, feeds, _config(), 0);
        int256 first = int256(bound(firstSeed, 1_980e8, 2_020e8));
        int256 second = int256(bound(secondSeed, 1_980e8, 2_020e8));
        feedA.setPrice(first);
        feedB.setPrice(second);
        feedC.setPrice(2000e8);
        feedD.setPrice(int256(bound(outlierSeed, 1, 1e30)));
        // casting to 'uint256' is safe because the honest answers are bounded positive
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 low = uint256(_min(_min(first, second), 2000e8)) * 1e10;
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 high = uint256(_max(_max(first, second), 2000e8)) * 1e10;
        uint256 priceWad = router.price(fourth);
        assertGe(priceWad, low, "not below the honest feeds");
        assertLe(priceWad, high, "not above the honest feeds");
    }

    function _threeFeedAsset(MockPriceFeed feedC) internal returns (address third) {
        address[] memory feeds = new address[](3);
        feeds[0] = address(feedA);
        feeds[1] = address(feedB);
        feeds[2] = address(feedC);
        third = address(0xE8);
        vm.prank(owner);
        router.setAsset(third, feeds, _config(), 0);
    }

    function _min(int256 a, int256 b) internal pure returns (int256) {
        return a < b ? a : b;
    }

    function _max(int256 a, int256 b) internal pure returns (int256) {
        return a > b ? a : b;
    }
}
