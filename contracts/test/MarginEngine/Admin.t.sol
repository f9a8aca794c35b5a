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

    function test_updateCollateral_changes_parameters_for_the_admin_only() public {
        MarginEngine.CollateralParams memory params = _wbtcParams();
        params.baseHaircutWad = 0.2e18;
        vm.expectRevert(MarginEngine.OnlyAdmin.selector);
        engine.updateCollateral(address(wbtc), params);

        vm.expectEmit(true, false, false, true, address(engine));
        emit MarginEngine.CollateralUpdated(address(wbtc), params);
        vm.prank(marketAdmin);
        engine.updateCollateral(address(wbtc), params);
        assertEq(engine.haircutOf(address(wbtc)), 0.2e18, "new base haircut applies");

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
}
