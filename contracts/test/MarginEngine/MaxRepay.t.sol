// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";

/// @notice maxRepay and previewSeize: the close factor, the full-close cases, the seizure split.
contract MaxRepayTest is EngineHelper {
    function test_maxRepay_is_zero_for_healthy_account() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        assertEq(engine.maxRepay(borrower), 0, "healthy");
    }

    function test_maxRepay_is_close_factor_of_debt() public {
        _openUnhealthyPosition(borrower);
        assertEq(engine.maxRepay(borrower), 7_500e18, "50% of 15,000");
    }

    function test_maxRepay_allows_full_close_below_the_full_liquidation_health() public {
        _openPosition(borrower, wbtc, 2e18, 55_000e18);
        _setWbtcPrice(30_000e8); // 54,000 risk-adjusted against 60,500: health 0.89 < 0.9
        assertEq(engine.maxRepay(borrower), 55_000e18, "the whole debt");
    }

    function test_maxRepay_allows_full_close_when_collateral_at_its_bonus_cannot_cover_the_debt() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1560e8); // 15,600 / 1.05 = 14,857 < 15,000 debt: a partial close would dig deeper
        assertEq(engine.maxRepay(borrower), 15_000e18, "the whole debt, which buys everything (bonus capped)");
        _setWethPrice(1600e8); // 16,000 / 1.05 = 15,238 > 15,000
        assertEq(engine.maxRepay(borrower), 7_500e18, "close factor");
    }

    function test_maxRepay_caps_at_the_repay_that_seizes_all_collateral() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1490e8);
        assertEq(engine.maxRepay(borrower), 14_190_476_190_476_190_476_191, "ceil(14,900 / 1.05)");
    }

    function test_maxRepay_allows_full_close_of_a_position_not_worth_liquidating_twice() public {
        _openPosition(borrower, weth, 1e18, 15e18);
        _setWethPrice(16e8); // collateral 16 against a 16.5 requirement
        assertTrue(engine.isLiquidatable(borrower), "liquidatable");
        assertEq(engine.maxRepay(borrower), 15e18, "half would leave 7.5 < dust 10, so the whole debt");
    }

    function test_previewSeize_adds_the_bonus_rounded_down() public {
        _openUnhealthyPosition(borrower);
        assertEq(engine.previewSeize(borrower, 1_000e18), 1_050e18 - 1, "repay * 1.05, less a wei");
    }

    function test_previewSeize_applies_each_collaterals_bonus() public {
        _openMixedUnhealthyPosition(borrower);
        // WETH's share of the repay earns 5%, WBTC's 8%.
        assertEq(
            engine.previewSeize(borrower, 10_000e18),
            4_271_186_440_677_966_101_694 + 6_406_779_661_016_949_152_542,
            "sum of per-collateral seizures"
        );
    }

    function test_previewSeize_is_capped_at_all_collateral() public {
        _openUnhealthyPosition(borrower);
        assertEq(engine.previewSeize(borrower, 1_000_000e18), 16_000e18, "everything, and no more");
    }

    function test_previewSeize_caps_the_bonus_at_what_the_collateral_holds_beyond_the_debt() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1560e8);
        assertEq(engine.previewSeize(borrower, 15_000e18), 15_600e18, "all of it for the whole debt: a 4% bonus");
        assertEq(engine.previewSeize(borrower, 7_500e18), 7_800e18, "the same share for half");
    }
}
