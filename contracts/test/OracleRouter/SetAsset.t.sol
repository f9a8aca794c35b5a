// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RouterHelper} from "./Helper.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {TwoStepOwnable} from "../../src/access/TwoStepOwnable.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";

/// @notice setAsset validation and the two-step ownership that guards it.
contract SetAssetTest is RouterHelper {
    function test_setAsset_records_feeds_config_and_starting_state() public view {
        address[] memory feeds = router.feedsOf(asset);
        assertEq(feeds.length, 2, "two feeds");
        assertEq(feeds[0], address(feedA), "first feed");
        (uint32 maxStaleness,, uint64 maxDeviation,,) = router.configOf(asset);
        assertEq(maxStaleness, 1 hours, "staleness");
        assertEq(maxDeviation, 0.02e18, "deviation");
        (uint128 recordedPrice, uint40 observedAt, uint40 anomalyUntil) = router.stateOf(asset);
        assertEq(recordedPrice, 2000e18, "starting price");
        assertEq(observedAt, START_TIME, "starting observation");
        assertEq(anomalyUntil, 0, "no anomaly");
        for (uint256 i = 0; i < 2; ++i) {
            OracleRouter.FeedState memory record = router.feedStateOf(asset, i);
            assertEq(record.priceWad, 2000e18, "each feed's starting price");
            assertEq(record.updatedAt, START_TIME, "each feed's starting round");
            assertEq(record.varianceRateWad, 0, "zero starting volatility");
        }
    }

    function test_setAsset_starts_the_ewma_from_the_initial_volatility() public {
        address fresh = address(0xE9);
        vm.prank(owner);
        router.setAsset(fresh, _feeds(address(feedA), address(feedB)), _config(), 0.06e18);
        assertEq(router.volatility(fresh), 0.06e18, "6% per hour");
    }

    function test_setAsset_only_by_owner() public {
        vm.expectRevert(TwoStepOwnable.OnlyOwner.selector);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), _config(), 0);
    }

    function test_setAsset_rejects_fewer_than_two_or_more_than_four_feeds() public {
        address[] memory one = new address[](1);
        one[0] = address(feedA);
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.InvalidFeedCount.selector, 1));
        router.setAsset(asset, one, _config(), 0);
        address[] memory five = new address[](5);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.InvalidFeedCount.selector, 5));
        router.setAsset(asset, five, _config(), 0);
        vm.stopPrank();
    }

    function test_setAsset_rejects_duplicate_zero_and_over_precise_feeds() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.DuplicateFeed.selector, address(feedA)));
        router.setAsset(asset, _feeds(address(feedA), address(feedA)), _config(), 0);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.InvalidFeed.selector, address(0)));
        router.setAsset(asset, _feeds(address(feedA), address(0)), _config(), 0);
        MockPriceFeed tooPrecise = new MockPriceFeed(19, 1);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.InvalidFeed.selector, address(tooPrecise)));
        router.setAsset(asset, _feeds(address(feedA), address(tooPrecise)), _config(), 0);
        vm.stopPrank();
    }

    function test_setAsset_rejects_a_feed_that_is_not_live() public {
        feedB.setUpdatedAt(block.timestamp - 1 hours - 1);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.FeedsNotLive.selector, asset));
        vm.prank(owner);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), _config(), 0);
    }

    function test_setAsset_rejects_out_of_range_config() public {
        OracleRouter.AssetConfig memory config = _config();
        config.maxDeviationWad = 0;
        vm.startPrank(owner);
        vm.expectRevert(OracleRouter.InvalidConfig.selector);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), config, 0);
        config = _config();
        config.volatilityTimeConstant = 1 minutes - 1;
        vm.expectRevert(OracleRouter.InvalidConfig.selector);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), config, 0);
        config.volatilityTimeConstant = 30 days + 1;
        vm.expectRevert(OracleRouter.InvalidConfig.selector);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), config, 0);
        vm.expectRevert(OracleRouter.InvalidConfig.selector);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), _config(), 10e18 + 1);
        config = _config();
        config.maxStaleness = 0;
        vm.expectRevert(OracleRouter.InvalidConfig.selector);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), config, 0);
        vm.stopPrank();
    }

    function test_ownership_moves_in_two_steps() public {
        address next = address(0x2222);
        vm.prank(owner);
        router.transferOwnership(next);
        assertEq(router.owner(), owner, "unchanged until accepted");
        vm.prank(next);
        router.acceptOwnership();
        assertEq(router.owner(), next, "accepted");
    }

    // ------------------------------------------------------------------ reconfiguration is announced

    function test_setAsset_cannot_reprice_a_live_asset_at_once() public {
        MockPriceFeed lying = new MockPriceFeed(8, 1000e8);
        vm.prank(owner);
        router.setAsset(asset, _feeds(address(feedA), address(lying)), _config(), 0);
        assertEq(router.price(asset), 2000e18, "the configured feeds still price the asset");
    }

    function test_setAsset_of_a_live_asset_is_announced_and_applies_after_the_delay() public {
        MockPriceFeed feedC = new MockPriceFeed(8, 2010e8);
        address[] memory next = _feeds(address(feedA), address(feedC));
        uint256 effectiveAt = block.timestamp + router.RECONFIGURATION_DELAY();
        vm.expectEmit(true, false, false, true, address(router));
        emit OracleRouter.AssetChangeScheduled(asset, next, _config(), 0.02e18, effectiveAt);
        vm.prank(owner);
        router.setAsset(asset, next, _config(), 0.02e18);
        (address[] memory pendingFeeds,, uint256 pendingVolatility, uint256 pendingAt) = router.pendingChangeOf(asset);
        assertEq(pendingFeeds[1], address(feedC), "announced feeds");
        assertEq(pendingVolatility, 0.02e18, "announced volatility");
        assertEq(pendingAt, effectiveAt, "announced time");
        assertEq(router.feedsOf(asset)[1], address(feedB), "not yet");
    }

    function test_setAsset_cannot_raise_the_volatility_of_a_live_asset_at_once() public {
        vm.prank(owner);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), _config(), 10e18);
        assertEq(router.volatility(asset), 0, "the estimate is not reset");
    }
}
