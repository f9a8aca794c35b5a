// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";

/// @notice The IMarginMarket views nodes read: price, accountHealth, openLiquidationHealth, isLiquidatable; and the
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

    function test_openLiquidationHealth_values_a_disputed_collateral_at_the_higher_feed() public {
        _openPosition(borrower, weth, 10e18, 15_000e18);
        wethFeedA.setPrice(1500e8); // feed B still says 2000
        (uint256 conservative,,) = engine.accountHealth(borrower);
        (uint256 open, uint256 debtValue, uint256 requirement) = engine.openLiquidationHealth(borrower);
        assertEq(conservative, 15_000e18, "award path: the lower feed");
        assertEq(open, 20_000e18, "open path: the feed that says healthy");
        assertEq(debtValue, 15_000e18, "same debt");
        assertEq(requirement, 16_500e18, "same requirement");
    }

    function test_openLiquidationHealth_equals_accountHealth_while_feeds_agree() public {
        _deposit(borrower, weth, 10e18);
        _openPosition(borrower, wbtc, 1e18, 30_000e18);
        (uint256 collateralValue,,) = engine.accountHealth(borrower);
        (uint256 open,,) = engine.openLiquidationHealth(borrower);
        assertEq(open, collateralValue, "no dispute, no difference");
    }

    function test_haircut_one_feed_wobbling_inside_the_bound_does_not_raise_it() public {
        for (uint256 second = 1; second <= 300; ++second) {
            vm.warp(block.timestamp + 1);
            wbtcFeedA.setPrice(second % 2 == 0 ? int256(60_000e8) : int256(61_000e8)); // 1.7%
            wbtcFeedB.setPrice(60_000e8);
            router.update(address(wbtc));
        }
        assertEq(engine.haircutOf(address(wbtc)), WBTC_BASE_HAIRCUT, "the calm feed holds the estimate down");
    }

    function test_accountHealth_counts_lapsed_dust_as_nothing() public {
        _deposit(borrower, wbtc, 1_000);
        _openPosition(borrower, weth, 10e18, 15_000e18);
        vm.warp(block.timestamp + MAX_STALENESS + 1);
        _setWethPrice(2000e8);
        (uint256 collateralValue,,) = engine.accountHealth(borrower);
        assertEq(collateralValue, 20_000e18, "the WETH alone");
    }

    function test_accountHealth_refuses_to_value_a_lapsed_collateral_that_is_not_dust() public {
        _deposit(borrower, wbtc, 1e18);
        _openPosition(borrower, weth, 10e18, 15_000e18);
        vm.warp(block.timestamp + MAX_STALENESS + 1);
        _setWethPrice(2000e8);
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.NoValidPrice.selector, address(wbtc)));
        engine.accountHealth(borrower);
    }
}
