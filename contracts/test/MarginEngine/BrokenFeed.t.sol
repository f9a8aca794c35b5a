// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {AggregatorV3Interface} from "../../src/interfaces/AggregatorV3Interface.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice What one broken feed can do to the engine while another feed of the asset is sane: never
/// make `price`, a liquidation, `borrow` or `withdraw` revert with anything but the breaker's typed
/// refusal, which trips only when no two agreeing feeds remain.
contract EngineBrokenFeedTest is EngineHelper {
    TestToken internal wsol;
    MockPriceFeed[3] internal wsolFeeds;

    function setUp() public override {
        super.setUp();
        // A third collateral priced by three feeds.
        wsol = new TestToken("Wrapped SOL", "WSOL");
        address[] memory feeds = new address[](3);
        for (uint256 i = 0; i < 3; ++i) {
            wsolFeeds[i] = new MockPriceFeed(8, 100e8);
            feeds[i] = address(wsolFeeds[i]);
        }
        vm.prank(routerOwner);
        router.setAsset(address(wsol), feeds, _routerConfig(), 0);
        vm.prank(marketAdmin);
        engine.addCollateral(address(wsol), _wethParams());
    }

    /// @dev Makes `feed` return `returnData` (short, empty, garbage) from latestRoundData.
    function _break(address feed, bytes memory returnData) internal {
        vm.mockCall(feed, abi.encodeCall(AggregatorV3Interface.latestRoundData, ()), returnData);
    }

    function test_price_and_liquidation_continue_while_one_of_two_feeds_returns_garbage() public {
        _openUnhealthyPosition(borrower);
        _break(address(wethFeedB), abi.encode(uint256(1), uint256(2))); // two words instead of five
        assertEq(engine.price(address(weth)), 1600e18, "priced by the sane feed");
        assertTrue(engine.isLiquidatable(borrower), "views work");
        engine.liquidate(borrower, 7_500e18, receiver);
        assertEq(engine.debtOf(borrower), 7_500e18, "liquidated");
    }

    function test_borrow_and_withdraw_continue_on_the_sane_feed_while_one_of_two_is_broken() public {
        _openPosition(borrower, weth, 10e18, 1_000e18);
        _break(address(wethFeedA), "");
        assertEq(router.anomalyFlags(address(weth)), router.FLAG_FEED_DOWN(), "the broken feed is reported");
        vm.startPrank(borrower);
        engine.borrow(1e18);
        engine.withdraw(address(weth), 1e18);
        vm.stopPrank();
        assertEq(engine.debtOf(borrower), 1_000e18 + 1e18, "priced by the sane feed, not halted");
    }

    function test_borrow_and_withdraw_continue_while_one_of_three_feeds_is_broken() public {
        _openPosition(borrower, wsol, 100e18, 1_000e18);
        _break(address(wsolFeeds[1]), abi.encode(uint256(1)));
        assertEq(router.anomalyFlags(address(wsol)), router.FLAG_FEED_DOWN(), "the broken feed is reported");
        vm.startPrank(borrower);
        engine.borrow(1_000e18);
        engine.withdraw(address(wsol), 10e18);
        vm.stopPrank();
        assertEq(engine.debtOf(borrower), 2_000e18, "borrowed on the two sane feeds");
    }

    function test_borrow_continues_while_one_of_three_feeds_is_an_outlier() public {
        _openPosition(borrower, wsol, 100e18, 1_000e18);
        wsolFeeds[2].setPrice(1e8); // a 99% outlier
        vm.prank(borrower);
        engine.borrow(1_000e18);
        assertEq(engine.price(address(wsol)), 100e18, "the median ignores it");
    }

    function test_withdraw_without_debt_needs_no_sane_feed() public {
        _deposit(borrower, weth, 1e18);
        _break(address(wethFeedA), "");
        _break(address(wethFeedB), "");
        vm.prank(borrower);
        engine.withdraw(address(weth), 1e18);
        assertEq(weth.balanceOf(borrower), 1e18, "an account without debt can always leave");
    }

    function testFuzz_liquidation_never_reverts_on_any_return_data_of_one_feed(bytes memory returnData) public {
        _openUnhealthyPosition(borrower);
        _break(address(wethFeedB), returnData);
        assertEq(engine.maxRepay(borrower) > 0, true, "priced");
        engine.liquidate(borrower, 1_000e18, receiver);
    }

    function testFuzz_liquidation_never_reverts_on_any_answer_of_one_feed(int256 answer, uint256 updatedAt) public {
        _openUnhealthyPosition(borrower);
        _break(address(wethFeedB), abi.encode(uint80(1), answer, updatedAt, updatedAt, uint80(1)));
        // A valid but low answer is the conservative side of a disagreement: it may shrink the repay
        // (a full close at that price), never stop the liquidation.
        uint256 repayAmount = engine.maxRepay(borrower);
        if (repayAmount > 1_000e18) repayAmount = 1_000e18;
        engine.liquidate(borrower, repayAmount, receiver);
        assertLt(engine.debtOf(borrower), 15_000e18, "liquidated whatever feed B said");
    }
}
