// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";

/// @notice The IMarginMarket views nodes read: prices, health, liquidatability, maxRepay, previewSeize.
contract HealthTest is EngineHelper {
    function test_price_converts_8_decimal_feed_to_wad() public view {
        assertEq(engine.price(address(collateralToken)), 2000e18, "collateral price in WAD");
        assertEq(engine.price(debtAsset), 1e18, "debt asset is the unit");
    }

    function test_price_rejects_unknown_asset() public {
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.UnknownAsset.selector, address(0xABC)));
        engine.price(address(0xABC));
    }

    function test_price_rejects_non_positive_answer() public {
        feed.setPrice(0);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.InvalidPrice.selector, int256(0)));
        engine.price(address(collateralToken));
        feed.setPrice(-1);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.InvalidPrice.selector, int256(-1)));
        engine.price(address(collateralToken));
    }

    function test_price_rejects_stale_and_future_dated_rounds() public {
        feed.setUpdatedAt(block.timestamp - engine.MAX_PRICE_AGE() - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                MarginEngine.StalePrice.selector, block.timestamp - engine.MAX_PRICE_AGE() - 1, block.timestamp
            )
        );
        engine.price(address(collateralToken));

        feed.setUpdatedAt(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.StalePrice.selector, block.timestamp + 1, block.timestamp));
        engine.price(address(collateralToken));

        feed.setUpdatedAt(block.timestamp - engine.MAX_PRICE_AGE());
        assertEq(engine.price(address(collateralToken)), 2000e18, "a round exactly MAX_PRICE_AGE old is fresh");
    }

    function test_accountHealth_values_collateral_at_oracle_price() public {
        _openPosition(borrower, 10e18, 15_000e18);
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = engine.accountHealth(borrower);
        assertEq(collateralValue, 20_000e18, "10 collateral at 2000");
        assertEq(debtValue, 15_000e18, "debt");
        assertEq(requirement, 16_500e18, "debt * 110%");
    }

    function test_isLiquidatable_only_strictly_below_maintenance() public {
        _openPosition(borrower, 10e18, 15_000e18);
        feed.setPrice(1650e8); // collateral 16,500 == requirement
        assertFalse(engine.isLiquidatable(borrower), "at maintenance is healthy");
        feed.setPrice(1649.99999999e8);
        assertTrue(engine.isLiquidatable(borrower), "below maintenance is liquidatable");
    }

    function test_isLiquidatable_false_without_debt() public {
        _openPosition(borrower, 10e18, 0);
        feed.setPrice(1);
        assertFalse(engine.isLiquidatable(borrower), "no debt, nothing to liquidate");
    }

    function test_maxRepay_is_zero_for_healthy_account() public {
        _openPosition(borrower, 10e18, 15_000e18);
        assertEq(engine.maxRepay(borrower), 0, "healthy");
    }

    function test_maxRepay_is_close_factor_of_debt() public {
        _openUnhealthyPosition(borrower);
        assertEq(engine.maxRepay(borrower), 7_500e18, "50% of 15,000");
    }

    function test_maxRepay_allows_full_close_when_under_water() public {
        _openPosition(borrower, 10e18, 15_000e18);
        feed.setPrice(1560e8); // collateral 15,600 against 15,000 debt: above water, close factor applies
        assertEq(engine.maxRepay(borrower), 7_500e18, "close factor above water");
        feed.setPrice(1490e8); // collateral 14,900 < 15,000 debt: under water
        // Full close, capped at the repay that seizes everything: ceil(14,900 / 1.05).
        assertEq(engine.maxRepay(borrower), 14_190_476_190_476_190_476_191, "repay that seizes all collateral");
    }

    function test_maxRepay_allows_full_close_of_dust_remainder() public {
        _openPosition(borrower, 1e18, 0.0015e18);
        feed.setPrice(0.0016e8); // collateral 0.0016 against a 0.00165 requirement
        assertTrue(engine.isLiquidatable(borrower), "liquidatable");
        assertEq(engine.maxRepay(borrower), 0.0015e18, "half would leave dust, so the whole debt");
    }

    function test_previewSeize_adds_bonus() public {
        _openUnhealthyPosition(borrower);
        assertEq(engine.previewSeize(borrower, 1_000e18), 1_050e18, "repay * 1.05");
    }
}
