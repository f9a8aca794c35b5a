// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";

/// @notice The IMarginMarket views nodes read: price, accountHealth, isLiquidatable; and the
/// volatility-adjusted haircut behind them.
contract HealthTest is EngineHelper {
    function test_price_converts_8_decimal_feeds_to_wad() public view {
        assertEq(engine.price(address(weth)), 2000e18, "WETH price in WAD");
        assertEq(engine.price(address(wbtc)), 60_000e18, "WBTC price in WAD");
        assertEq(engine.price(debtAsset), 1e18, "debt asset is the unit");
    }

    function test_price_rejects_unknown_asset() public {
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.UnknownAsset.selector, address(0xABC)));
        engine.price(address(0xABC));
    }

    function test_accountHealth_reports_risk_adjusted_collateral() public {
        _deposit(borrower, weth, 10e18);
        _openPosition(borrower, wbtc, 1e18, 30_000e18);
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = engine.accountHealth(borrower);
        assertEq(collateralValue, 20_000e18 + 54_000e18, "WETH at par, WBTC less its 10% haircut");
        assertEq(debtValue, 30_000e18, "debt");
        assertEq(requirement, 33_000e18, "debt * 110%");
    }

    function test_haircut_grows_with_realised_volatility() public {
        assertEq(engine.haircutOf(address(wbtc)), WBTC_BASE_HAIRCUT, "calm market: base haircut");
        vm.warp(block.timestamp + 100);
        _setWbtcPrice(66_000e8); // +10%: variance rate r^2 / tau = 0.01 / 3600 per second
        uint256 previewed = engine.haircutOf(address(wbtc));
        router.update(address(wbtc));
        // volatility = sqrt(0.01 / 3600 * 3600) = 0.1 (rounded up); haircut = 0.1 + 2 * volatility
        assertEq(router.volatility(address(wbtc)), 100_000_000_000_003_999, "one-hour volatility");
        assertEq(engine.haircutOf(address(wbtc)), 0.1e18 + 200_000_000_000_007_998, "haircut after the move");
        assertEq(previewed, engine.haircutOf(address(wbtc)), "views already price the pending observation");
    }

    function test_haircut_is_capped() public {
        vm.warp(block.timestamp + 10);
        _setWbtcPrice(72_000e8);
        assertEq(engine.haircutOf(address(wbtc)), WBTC_MAX_HAIRCUT, "capped at the maximum");
    }

    function test_turbulence_alone_can_make_an_account_liquidatable() public {
        _openPosition(borrower, wbtc, 1e18, 43_000e18); // 54,000 risk-adjusted against 47,300
        assertFalse(engine.isLiquidatable(borrower), "healthy in a calm market");
        vm.warp(block.timestamp + 100);
        _setWbtcPrice(66_000e8);
        router.update(address(wbtc));
        vm.warp(block.timestamp + 100);
        _setWbtcPrice(60_000e8); // back where it started, but the market has been turbulent
        assertTrue(engine.isLiquidatable(borrower), "a turbulent market demands more buffer");
    }

    function test_isLiquidatable_only_strictly_below_maintenance() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        _setWethPrice(1650e8); // collateral 16,500 == requirement
        assertFalse(engine.isLiquidatable(borrower), "at maintenance is healthy");
        _setWethPrice(1649.99999999e8);
        assertTrue(engine.isLiquidatable(borrower), "below maintenance is liquidatable");
    }

    function test_isLiquidatable_false_without_debt() public {
        _deposit(borrower, weth, 10e18);
        _setWethPrice(1);
        assertFalse(engine.isLiquidatable(borrower), "no debt, nothing to liquidate");
    }

    function test_healthOf_is_collateral_over_requirement() public {
        assertEq(engine.healthOf(borrower), type(uint256).max, "no debt: infinitely healthy");
        _openUnhealthyPosition(borrower);
        assertEq(engine.healthOf(borrower), uint256(16_000e18) * 1e18 / 16_500e18, "16,000 / 16,500");
    }
}
