// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

contract BorrowTest is EngineHelper {
    function test_borrow_within_initial_margin_transfers_debt_asset() public {
        _openPosition(borrower, weth, 10e18, 16_000e18); // 20,000 of collateral / 1.25 = 16,000
        assertEq(engine.debtOf(borrower), 16_000e18, "debt recorded");
        assertEq(TestToken(debtAsset).balanceOf(borrower), 16_000e18, "borrower receives the loan");
    }

    function test_borrow_rejects_position_beyond_initial_margin() public {
        _deposit(borrower, weth, 10e18);
        vm.expectRevert(
            abi.encodeWithSelector(MarginEngine.BelowInitialMargin.selector, borrower, 20_000e18, 20_000e18 + 2)
        );
        vm.prank(borrower);
        engine.borrow(16_000e18 + 1);
    }

    function test_borrow_counts_every_collateral_after_its_haircut() public {
        _deposit(borrower, weth, 10e18); // 20,000
        _deposit(borrower, wbtc, 1e18); // 60,000 less the 10% haircut = 54,000
        vm.prank(borrower);
        engine.borrow(59_200e18); // 74,000 / 1.25
        assertEq(engine.debtOf(borrower), 59_200e18, "cross-margin borrow");
        vm.expectRevert();
        vm.prank(borrower);
        engine.borrow(1);
    }

    function test_borrow_rejects_more_than_engine_liquidity() public {
        _deposit(borrower, weth, 10_000e18);
        vm.expectRevert(
            abi.encodeWithSelector(MarginEngine.InsufficientLiquidity.selector, ENGINE_LIQUIDITY, ENGINE_LIQUIDITY + 1)
        );
        vm.prank(borrower);
        engine.borrow(ENGINE_LIQUIDITY + 1);
    }

    function test_borrow_halts_when_feeds_disagree() public {
        _deposit(borrower, weth, 10e18);
        wethFeedB.setPrice(2100e8); // 5% apart, beyond the 2% bound
        vm.expectRevert(
            abi.encodeWithSelector(MarginEngine.OracleAnomaly.selector, address(weth), router.FLAG_DEVIATION())
        );
        vm.prank(borrower);
        engine.borrow(1e18);
    }

    function test_borrow_continues_on_the_sane_feed_when_the_other_is_stale() public {
        _deposit(borrower, weth, 10e18);
        wethFeedA.setUpdatedAt(block.timestamp - MAX_STALENESS - 1);
        assertEq(router.anomalyFlags(address(weth)), router.FLAG_FEED_DOWN(), "the stale feed is reported");
        vm.prank(borrower);
        engine.borrow(1e18);
        assertEq(engine.debtOf(borrower), 1e18, "a down feed does not halt the market");
    }

    function test_borrow_halts_after_a_jump_until_the_cooldown_passes() public {
        _deposit(borrower, weth, 10e18);
        _setWethPrice(3000e8); // +50%, beyond the 25% jump bound
        router.update(address(weth));
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.OracleAnomaly.selector, address(weth), router.FLAG_JUMP()));
        vm.prank(borrower);
        engine.borrow(1e18);

        vm.warp(block.timestamp + ANOMALY_COOLDOWN);
        _setWethPrice(3000e8);
        vm.prank(borrower);
        engine.borrow(1e18);
        assertEq(engine.debtOf(borrower), 1e18, "borrowing resumes after the cooldown");
    }

    function test_borrow_is_not_halted_by_an_anomaly_in_a_collateral_the_account_does_not_hold() public {
        _deposit(borrower, weth, 10e18);
        wbtcFeedA.setPrice(90_000e8);
        vm.prank(borrower);
        engine.borrow(1_000e18);
        assertEq(engine.debtOf(borrower), 1_000e18, "WBTC's anomaly does not concern a WETH-only account");
    }

    function test_borrow_rejects_when_no_feed_is_fresh() public {
        _deposit(borrower, weth, 10e18);
        vm.warp(block.timestamp + MAX_STALENESS + 1);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.NoValidPrice.selector, address(weth)));
        vm.prank(borrower);
        engine.borrow(1e18);
    }

    function test_borrow_rejects_zero() public {
        vm.expectRevert(MarginEngine.ZeroAmount.selector);
        engine.borrow(0);
    }
}
