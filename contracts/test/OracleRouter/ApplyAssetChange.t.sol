// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RouterHelper} from "./Helper.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {TwoStepOwnable} from "../../src/access/TwoStepOwnable.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";

/// @notice applyAssetChange and cancelAssetChange: an announced reconfiguration of a live asset
/// applies only after the delay, by anyone, and only while its feeds are live; the owner may cancel it.
contract ApplyAssetChangeTest is RouterHelper {
    MockPriceFeed internal feedC;

    function setUp() public override {
        super.setUp();
        feedC = new MockPriceFeed(8, 2010e8);
        vm.prank(owner);
        router.setAsset(asset, _feeds(address(feedA), address(feedC)), _config(), 0.06e18);
    }

    function test_applyAssetChange_rejects_before_the_delay() public {
        uint256 effectiveAt = block.timestamp + router.RECONFIGURATION_DELAY();
        vm.warp(effectiveAt - 1);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.ChangeNotDue.selector, asset, effectiveAt));
        router.applyAssetChange(asset);
    }

    function test_applyAssetChange_by_anyone_after_the_delay() public {
        vm.warp(block.timestamp + router.RECONFIGURATION_DELAY());
        _setBoth(2000e8);
        feedC.setPrice(2010e8);
        vm.expectEmit(true, false, false, false, address(router));
        emit OracleRouter.AssetConfigured(asset, _feeds(address(feedA), address(feedC)), _config(), 0.06e18);
        vm.prank(address(0x5757));
        router.applyAssetChange(asset);
        assertEq(router.feedsOf(asset)[1], address(feedC), "the new feed");
        assertEq(router.price(asset), 2005e18, "priced by the new feeds");
        assertEq(router.volatility(asset), 0.06e18, "from the announced volatility");
        (,,, uint256 effectiveAt) = router.pendingChangeOf(asset);
        assertEq(effectiveAt, 0, "nothing pending");
    }

    function test_applyAssetChange_rejects_feeds_that_are_no_longer_live() public {
        vm.warp(block.timestamp + router.RECONFIGURATION_DELAY());
        feedA.setPrice(2000e8); // feed C last published two days ago
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.FeedsNotLive.selector, asset));
        router.applyAssetChange(asset);
    }

    function test_applyAssetChange_rejects_without_an_announced_change() public {
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.NoPendingChange.selector, address(0xABC)));
        router.applyAssetChange(address(0xABC));
    }

    function test_cancelAssetChange_withdraws_it_for_the_owner_only() public {
        vm.expectRevert(TwoStepOwnable.OnlyOwner.selector);
        router.cancelAssetChange(asset);
        vm.expectEmit(true, false, false, false, address(router));
        emit OracleRouter.AssetChangeCancelled(asset);
        vm.prank(owner);
        router.cancelAssetChange(asset);
        vm.warp(block.timestamp + router.RECONFIGURATION_DELAY());
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.NoPendingChange.selector, asset));
        router.applyAssetChange(asset);
    }
}
