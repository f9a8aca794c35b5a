// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RouterHelper} from "./Helper.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {BrokenFeed} from "../mocks/BrokenFeed.sol";

/// @notice A broken feed is a down feed: whatever one feed returns (or fails to return), the router
/// prices the asset from the others and never reverts while one of them is sane.
contract BrokenFeedTest is RouterHelper {
    address internal brokenAsset = address(0xB20C);
    BrokenFeed internal broken;

    function setUp() public override {
        super.setUp();
        broken = new BrokenFeed(8, 2000e8);
        vm.prank(owner);
        router.setAsset(brokenAsset, _feeds(address(feedA), address(broken)), _config(), 0);
        vm.warp(block.timestamp + 10);
        feedA.setPrice(1990e8);
    }

    function _assertDownAndPricedByTheOther(BrokenFeed.Mode mode) internal {
        broken.setMode(mode);
        (uint256 priceWad,, uint256 flags) = router.peek(brokenAsset);
        assertEq(priceWad, 1990e18, "priced by the sane feed");
        assertEq(flags & router.FLAG_FEED_DOWN(), router.FLAG_FEED_DOWN(), "the broken feed is down");
        assertEq(router.price(brokenAsset), 1990e18, "price() too");
        (uint256 updatedPrice,,) = router.update(brokenAsset);
        assertEq(updatedPrice, 1990e18, "update() too");
    }

    function test_peek_treats_a_reverting_feed_as_down() public {
        _assertDownAndPricedByTheOther(BrokenFeed.Mode.Revert);
    }

    function test_peek_treats_a_feed_returning_nothing_as_down() public {
        _assertDownAndPricedByTheOther(BrokenFeed.Mode.Empty);
    }

    function test_peek_treats_a_feed_returning_short_data_as_down() public {
        _assertDownAndPricedByTheOther(BrokenFeed.Mode.Short);
    }

    function test_peek_treats_an_answer_too_large_to_scale_as_down() public {
        _assertDownAndPricedByTheOther(BrokenFeed.Mode.Huge);
    }

    function test_peek_treats_a_feed_that_burns_its_gas_as_down() public {
        _assertDownAndPricedByTheOther(BrokenFeed.Mode.BurnGas);
    }

    function test_peek_treats_a_feed_flooding_return_data_as_down() public {
        _assertDownAndPricedByTheOther(BrokenFeed.Mode.ReturnBomb);
    }

    function test_peek_treats_zero_and_negative_answers_as_down() public {
        broken.setPrice(0);
        assertEq(router.price(brokenAsset), 1990e18, "zero");
        broken.setPrice(-1);
        assertEq(router.price(brokenAsset), 1990e18, "negative");
        broken.setPrice(type(int256).min);
        assertEq(router.price(brokenAsset), 1990e18, "most negative");
    }

    function testFuzz_peek_never_reverts_on_any_answer_of_one_feed(int256 answer) public {
        broken.setPrice(answer);
        (uint256 priceWad,,) = router.peek(brokenAsset);
        assertGt(priceWad, 0, "a price");
        router.update(brokenAsset);
        vm.warp(block.timestamp + 1);
        feedA.setPrice(1990e8);
        broken.setPrice(answer / 2 + 1);
        router.update(brokenAsset);
    }
}
