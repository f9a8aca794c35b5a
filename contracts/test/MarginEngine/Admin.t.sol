// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EngineHelper} from "./Helper.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice Constructor, setSettlement, addCollateral, updateCollateral.
contract AdminTest is EngineHelper {
    function test_constructor_records_parameters_and_deploys_its_insurance_fund() public view {
        assertEq(engine.admin(), marketAdmin, "admin");
        assertEq(engine.debtAsset(), debtAsset, "debt asset");
        assertEq(address(engine.oracleRouter()), address(router), "router");
        assertEq(engine.maintenanceRatioWad(), MAINTENANCE_RATIO, "maintenance");
        assertEq(engine.initialMarginRatioWad(), INITIAL_MARGIN_RATIO, "initial margin");
        assertEq(engine.closeFactorWad(), CLOSE_FACTOR, "close factor");
        assertEq(engine.fullLiquidationHealthWad(), FULL_LIQUIDATION_HEALTH, "full liquidation health");
        assertEq(engine.dustDebt(), DUST_DEBT, "dust");
        assertEq(engine.insuranceFund().engine(), address(engine), "fund draws only for this engine");
        assertEq(engine.insuranceFund().asset(), debtAsset, "fund holds the debt asset");
    }

    function test_constructor_rejects_inconsistent_risk_parameters() public {
        MarginEngine.RiskParams memory params = _riskParams();
        params.maintenanceRatioWad = 0.99e18;
        vm.expectRevert(MarginEngine.InvalidRiskParameters.selector);
        new MarginEngine(marketAdmin, debtAsset, address(router), params);

        params = _riskParams();
        params.initialMarginRatioWad = MAINTENANCE_RATIO;
        vm.expectRevert(MarginEngine.InvalidRiskParameters.selector);
        new MarginEngine(marketAdmin, debtAsset, address(router), params);

        params = _riskParams();
        params.closeFactorWad = 0;
        vm.expectRevert(MarginEngine.InvalidRiskParameters.selector);
        new MarginEngine(marketAdmin, debtAsset, address(router), params);

        params = _riskParams();
        params.fullLiquidationHealthWad = 1e18 + 1;
        vm.expectRevert(MarginEngine.InvalidRiskParameters.selector);
        new MarginEngine(marketAdmin, debtAsset, address(router), params);
    }

    function test_constructor_rejects_zero_addresses() public {
        vm.expectRevert(MarginEngine.ZeroAddress.selector);
        new MarginEngine(address(0), debtAsset, address(router), _riskParams());
        vm.expectRevert(MarginEngine.ZeroAddress.selector);
        new MarginEngine(marketAdmin, debtAsset, address(0), _riskParams());
    }

    function test_setSettlement_only_by_admin_and_only_once() public {
        MarginEngine fresh = new MarginEngine(marketAdmin, debtAsset, address(router), _riskParams());
        vm.expectRevert(MarginEngine.OnlyAdmin.selector);
        fresh.setSettlement(address(this));
        vm.startPrank(marketAdmin);
        vm.expectEmit(true, false, false, false, address(fresh));
        emit MarginEngine.SettlementSet(address(this));
        fresh.setSettlement(address(this));
        vm.expectRevert(MarginEngine.SettlementAlreadySet.selector);
        fresh.setSettlement(address(0x1234));
        vm.stopPrank();
    }

    function test_addCollateral_lists_the_asset_and_emits() public view {
        address[] memory assets = engine.collateralAssets();
        assertEq(assets.length, 2, "two collaterals");
        assertEq(assets[0], address(weth), "WETH first");
        assertEq(assets[1], address(wbtc), "WBTC second");
        assertTrue(engine.isCollateral(address(wbtc)), "listed");
        (uint64 base, uint64 multiplier, uint64 maxHaircut, uint64 bonus) = engine.collateralParams(address(wbtc));
        assertEq(base, WBTC_BASE_HAIRCUT, "base haircut");
        assertEq(multiplier, WBTC_VOLATILITY_MULTIPLIER, "volatility multiplier");
        assertEq(maxHaircut, WBTC_MAX_HAIRCUT, "max haircut");
        assertEq(bonus, WBTC_BONUS, "bonus");
    }

    function test_addCollateral_only_by_admin() public {
        vm.expectRevert(MarginEngine.OnlyAdmin.selector);
        engine.addCollateral(address(0x1234), _wethParams());
    }

    function test_addCollateral_rejects_listed_debt_and_unpriced_assets() public {
        vm.startPrank(marketAdmin);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.CollateralAlreadyListed.selector, address(weth)));
        engine.addCollateral(address(weth), _wethParams());
        vm.expectRevert(MarginEngine.InvalidCollateralParameters.selector);
        engine.addCollateral(debtAsset, _wethParams());
        address unpriced = address(new TestToken("Unpriced", "UNP"));
        vm.expectRevert(abi.encodeWithSelector(OracleRouter.UnknownAsset.selector, unpriced));
        engine.addCollateral(unpriced, _wethParams());
        vm.stopPrank();
    }

    function test_addCollateral_rejects_a_bonus_that_makes_liquidation_at_maintenance_lower_health() public {
        MarginEngine fresh = new MarginEngine(marketAdmin, debtAsset, address(router), _riskParams());
        MarginEngine.CollateralParams memory params = _wethParams();
        params.liquidationBonusWad = 0.1e18; // (1 + 0.1) * (1 - 0) = 1.1 = maintenance: not strictly below
        vm.expectRevert(MarginEngine.InvalidCollateralParameters.selector);
        vm.prank(marketAdmin);
        fresh.addCollateral(address(weth), params);
    }

    function test_addCollateral_rejects_haircuts_out_of_order() public {
        MarginEngine fresh = new MarginEngine(marketAdmin, debtAsset, address(router), _riskParams());
        MarginEngine.CollateralParams memory params = _wbtcParams();
        params.maxHaircutWad = params.baseHaircutWad - 1;
        vm.startPrank(marketAdmin);
        vm.expectRevert(MarginEngine.InvalidCollateralParameters.selector);
        fresh.addCollateral(address(wbtc), params);
        params.maxHaircutWad = 1e18;
        vm.expectRevert(MarginEngine.InvalidCollateralParameters.selector);
        fresh.addCollateral(address(wbtc), params);
        vm.stopPrank();
    }

    function test_updateCollateral_that_lowers_haircuts_applies_at_once_for_the_admin_only() public {
        MarginEngine.CollateralParams memory params = _wbtcParams();
        params.baseHaircutWad = 0.05e18;
        vm.expectRevert(MarginEngine.OnlyAdmin.selector);
        engine.updateCollateral(address(wbtc), params);

        vm.expectEmit(true, false, false, true, address(engine));
        emit MarginEngine.CollateralUpdated(address(wbtc), params);
        vm.prank(marketAdmin);
        engine.updateCollateral(address(wbtc), params);
        assertEq(engine.haircutOf(address(wbtc)), 0.05e18, "a lower haircut applies at once");

        vm.expectRevert(abi.encodeWithSelector(MarginEngine.UnknownAsset.selector, address(0x1234)));
        vm.prank(marketAdmin);
        engine.updateCollateral(address(0x1234), params);
    }

    // ------------------------------------------------------------------ risk changes are announced

    function test_updateCollateral_cannot_push_a_healthy_account_under_at_once() public {
        _openPosition(borrower, wbtc, 1e18, 43_000e18); // 54,000 risk-adjusted against 47,300
        MarginEngine.CollateralParams memory params = _wbtcParams();
        params.baseHaircutWad = 0.3e18; // would leave 42,000
        vm.prank(marketAdmin);
        engine.updateCollateral(address(wbtc), params);
        assertFalse(engine.isLiquidatable(borrower), "a higher haircut does not apply in the same transaction");
        assertEq(engine.haircutOf(address(wbtc)), WBTC_BASE_HAIRCUT, "the old haircut still applies");
    }

    function test_updateCollateral_that_raises_a_haircut_is_announced_and_applies_after_the_delay() public {
        _openPosition(borrower, wbtc, 1e18, 43_000e18);
        MarginEngine.CollateralParams memory params = _wbtcParams();
        params.baseHaircutWad = 0.3e18;
        uint256 effectiveAt = block.timestamp + engine.RISK_CHANGE_DELAY();
        vm.expectEmit(true, false, false, true, address(engine));
        emit MarginEngine.CollateralUpdateScheduled(address(wbtc), params, effectiveAt);
        vm.prank(marketAdmin);
        engine.updateCollateral(address(wbtc), params);
        (MarginEngine.CollateralParams memory pending, uint64 pendingAt) = _pending(address(wbtc));
        assertEq(pending.baseHaircutWad, 0.3e18, "announced");
        assertEq(pendingAt, effectiveAt, "announced time");

        vm.warp(effectiveAt - 1);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.UpdateNotDue.selector, address(wbtc), effectiveAt));
        engine.applyCollateralUpdate(address(wbtc));

        vm.warp(effectiveAt);
        _setWbtcPrice(60_000e8);
        vm.expectEmit(true, false, false, true, address(engine));
        emit MarginEngine.CollateralUpdated(address(wbtc), params);
        vm.prank(address(0x5757)); // anyone
        engine.applyCollateralUpdate(address(wbtc));
        assertEq(engine.haircutOf(address(wbtc)), 0.3e18, "applied after two days' notice");
        assertTrue(engine.isLiquidatable(borrower), "an account that did not add margin is now under");
    }

    function test_updateCollateral_that_raises_the_bonus_is_announced_too() public {
        MarginEngine.CollateralParams memory params = _wethParams();
        params.liquidationBonusWad = WETH_BONUS + 0.01e18;
        vm.prank(marketAdmin);
        engine.updateCollateral(address(weth), params);
        (,,, uint64 bonus) = engine.collateralParams(address(weth));
        assertEq(bonus, WETH_BONUS, "unchanged until applied");
    }

    function test_cancelCollateralUpdate_withdraws_it_for_the_admin_only() public {
        MarginEngine.CollateralParams memory params = _wbtcParams();
        params.maxHaircutWad = 0.6e18;
        vm.prank(marketAdmin);
        engine.updateCollateral(address(wbtc), params);
        vm.expectRevert(MarginEngine.OnlyAdmin.selector);
        engine.cancelCollateralUpdate(address(wbtc));
        vm.expectEmit(true, false, false, false, address(engine));
        emit MarginEngine.CollateralUpdateCancelled(address(wbtc));
        vm.prank(marketAdmin);
        engine.cancelCollateralUpdate(address(wbtc));
        vm.warp(block.timestamp + engine.RISK_CHANGE_DELAY());
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.NoPendingUpdate.selector, address(wbtc)));
        engine.applyCollateralUpdate(address(wbtc));
    }

    function test_addCollateral_reads_the_tokens_decimals_into_its_price_scale() public view {
        assertEq(engine.priceScaleOf(address(weth)), 1e18, "18-decimal collateral, 18-decimal debt");
        assertEq(engine.debtDecimals(), 18, "debt decimals");
    }

    function test_deposit_is_capped_so_no_valuation_can_overflow() public {
        uint256 cap = engine.priceScaleOf(address(weth)) * 1e12;
        weth.mint(borrower, cap + 1);
        vm.startPrank(borrower);
        weth.approve(address(engine), cap + 1);
        vm.expectRevert(abi.encodeWithSelector(MarginEngine.DepositCapExceeded.selector, address(weth), cap));
        engine.deposit(address(weth), cap + 1);
        engine.deposit(address(weth), cap);
        vm.stopPrank();
        assertGt(engine.healthOf(borrower), 0, "the largest holding still values");
    }

    function _pending(address asset) private view returns (MarginEngine.CollateralParams memory params, uint64 at) {
        (params, at) = engine.pendingCollateralUpdate(asset);
    }
}
