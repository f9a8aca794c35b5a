// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {MorphoHelper} from "./Helper.sol";
import {MorphoPreLiquidation} from "../../src/morpho/MorphoPreLiquidation.sol";
import {DecimalToken} from "../mocks/DecimalToken.sol";
import {Id, IMorpho, MarketParams} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";
import {MarketParamsLib} from "@morpho-org/morpho-blue/src/libraries/MarketParamsLib.sol";

/// @notice The constructor: Morpho's PreLiquidation bounds (0 < preLltv < LLTV, preLCF1 <= preLCF2,
/// preLCF1 <= 1, 1 <= preLIF1 <= preLIF2 <= 1/LLTV), plus preLCF2 > 0, an existing market and non-zero
/// addresses; and what it records.
contract MorphoConstructorTest is MorphoHelper {
    using MarketParamsLib for MarketParams;

    uint256 internal constant MAX_PRE_LIF = 1.25e18; // 1 / 0.8

    function test_constructor_records_the_market_and_parameters() public view {
        MarketParams memory recorded = adapter.marketParams();
        assertEq(Id.unwrap(recorded.id()), Id.unwrap(id), "market params hash to the market id");
        assertEq(Id.unwrap(adapter.morphoMarketId()), Id.unwrap(id), "market id");
        assertEq(address(adapter.morpho()), address(morpho), "morpho");
        assertEq(adapter.settlement(), address(settlement), "settlement");
        assertEq(adapter.admin(), marketAdmin, "admin");
        assertEq(adapter.debtAsset(), address(loanToken), "debt asset is the loan token");
        address[] memory collaterals = adapter.collateralAssets();
        assertEq(collaterals.length, 1, "one collateral");
        assertEq(collaterals[0], address(collateralToken), "the collateral token");
        MorphoPreLiquidation.PreLiquidationParams memory params = adapter.preLiquidationParams();
        assertEq(params.preLltv, PRE_LLTV, "preLltv");
        assertEq(params.preLCF1, PRE_LCF_1, "preLCF1");
        assertEq(params.preLCF2, PRE_LCF_2, "preLCF2");
        assertEq(params.preLIF1, PRE_LIF_1, "preLIF1");
        assertEq(params.preLIF2, PRE_LIF_2, "preLIF2");
        assertEq(loanToken.allowance(address(adapter), address(morpho)), type(uint256).max, "Morpho may pull repays");
    }

    function test_constructor_registers_with_the_settlement_under_its_admin() public view {
        (address registered,,,,,, address registeredDebtAsset) = settlement.markets(marketId);
        assertEq(registered, address(adapter), "adapter registered");
        assertEq(registeredDebtAsset, address(loanToken), "debt asset fixed at registration");
    }

    function test_constructor_rejects_zero_addresses() public {
        MorphoPreLiquidation.PreLiquidationParams memory params = _defaultParams();
        vm.expectRevert(MorphoPreLiquidation.ZeroAddress.selector);
        new MorphoPreLiquidation(address(0), morpho, id, address(settlement), params);
        vm.expectRevert(MorphoPreLiquidation.ZeroAddress.selector);
        new MorphoPreLiquidation(marketAdmin, IMorpho(address(0)), id, address(settlement), params);
        vm.expectRevert(MorphoPreLiquidation.ZeroAddress.selector);
        new MorphoPreLiquidation(marketAdmin, morpho, id, address(0), params);
    }

    function test_constructor_rejects_a_market_that_does_not_exist() public {
        Id unknown = Id.wrap(keccak256("no such market"));
        vm.expectRevert(abi.encodeWithSelector(MorphoPreLiquidation.NonexistentMarket.selector, unknown));
        new MorphoPreLiquidation(marketAdmin, morpho, unknown, address(settlement), _defaultParams());
    }

    function test_constructor_rejects_preLltv_outside_zero_to_lltv() public {
        MorphoPreLiquidation.PreLiquidationParams memory params = _defaultParams();
        uint256[3] memory invalid = [uint256(0), LLTV, LLTV + 1];
        for (uint256 i = 0; i < invalid.length; ++i) {
            params.preLltv = invalid[i];
            vm.expectRevert(abi.encodeWithSelector(MorphoPreLiquidation.InvalidPreLltv.selector, invalid[i], LLTV));
            _deployAdapter(params);
        }
        params.preLltv = LLTV - 1;
        _deployAdapter(params); // the narrowest band is allowed
    }

    function test_constructor_rejects_close_factors_out_of_order_above_one_or_zero() public {
        MorphoPreLiquidation.PreLiquidationParams memory params = _defaultParams();
        params.preLCF1 = 0.5e18;
        params.preLCF2 = 0.5e18 - 1;
        vm.expectRevert(
            abi.encodeWithSelector(MorphoPreLiquidation.InvalidPreLCF.selector, params.preLCF1, params.preLCF2)
        );
        _deployAdapter(params);

        params.preLCF1 = 1e18 + 1;
        params.preLCF2 = 2e18;
        vm.expectRevert(
            abi.encodeWithSelector(MorphoPreLiquidation.InvalidPreLCF.selector, params.preLCF1, params.preLCF2)
        );
        _deployAdapter(params);

        params.preLCF1 = 0;
        params.preLCF2 = 0;
        vm.expectRevert(abi.encodeWithSelector(MorphoPreLiquidation.InvalidPreLCF.selector, 0, 0));
        _deployAdapter(params);

        // A close factor above one at LLTV is allowed: the whole position closes from some LTV on.
        params.preLCF1 = 1e18;
        params.preLCF2 = 5e18;
        _deployAdapter(params);
    }

    function test_constructor_rejects_incentive_factors_below_one_out_of_order_or_above_one_over_lltv() public {
        MorphoPreLiquidation.PreLiquidationParams memory params = _defaultParams();
        params.preLIF1 = 1e18 - 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                MorphoPreLiquidation.InvalidPreLIF.selector, params.preLIF1, params.preLIF2, MAX_PRE_LIF
            )
        );
        _deployAdapter(params);

        params.preLIF1 = 1.1e18;
        params.preLIF2 = 1.1e18 - 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                MorphoPreLiquidation.InvalidPreLIF.selector, params.preLIF1, params.preLIF2, MAX_PRE_LIF
            )
        );
        _deployAdapter(params);

        params.preLIF1 = 1e18;
        params.preLIF2 = MAX_PRE_LIF + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                MorphoPreLiquidation.InvalidPreLIF.selector, params.preLIF1, params.preLIF2, MAX_PRE_LIF
            )
        );
        _deployAdapter(params);

        params.preLIF2 = MAX_PRE_LIF; // exactly 1 / LLTV is allowed
        _deployAdapter(params);
    }

    /// @dev Any parameter set deploys iff it is within the bounds.
    function testFuzz_constructor_accepts_exactly_the_bounded_parameters(
        uint256 preLltv,
        uint256 preLCF1,
        uint256 preLCF2,
        uint256 preLIF1,
        uint256 preLIF2
    ) public {
        MorphoPreLiquidation.PreLiquidationParams memory params =
            MorphoPreLiquidation.PreLiquidationParams({
                preLltv: bound(preLltv, 0, 1e18),
                preLCF1: bound(preLCF1, 0, 2e18),
                preLCF2: bound(preLCF2, 0, 3e18),
                preLIF1: bound(preLIF1, 0.9e18, 1.3e18),
                preLIF2: bound(preLIF2, 0.9e18, 1.3e18)
            });
        bool valid = params.preLltv > 0 && params.preLltv < LLTV && params.preLCF1 <= params.preLCF2
            && params.preLCF1 <= 1e18 && params.preLCF2 > 0 && params.preLIF1 >= 1e18
            && params.preLIF1 <= params.preLIF2 && params.preLIF2 <= MAX_PRE_LIF;
        if (!valid) vm.expectRevert();
        _deployAdapter(params);
    }

    function test_constructor_reads_decimals_for_the_whole_token_price() public {
        // A USDC-like 6-decimal loan against a WBTC-like 8-decimal collateral at 60,000: Morpho's oracle
        // quotes 60,000 * 10^(36 + 6 - 8) loan units per collateral unit.
        DecimalToken usdc = new DecimalToken("USDC", 6);
        DecimalToken wbtc = new DecimalToken("WBTC", 8);
        oracle.setPrice(60_000 * 1e34);
        MarketParams memory params = MarketParams({
            loanToken: address(usdc),
            collateralToken: address(wbtc),
            oracle: address(oracle),
            irm: address(irm),
            lltv: LLTV
        });
        morpho.createMarket(params);
        MorphoPreLiquidation wbtcAdapter =
            new MorphoPreLiquidation(marketAdmin, morpho, params.id(), address(settlement), _defaultParams());
        assertEq(wbtcAdapter.price(address(wbtc)), 60_000e18, "one WBTC is worth 60,000 units of account");
        assertEq(wbtcAdapter.price(address(usdc)), 1e18, "the loan token is the unit of account");
        vm.expectRevert(abi.encodeWithSelector(MorphoPreLiquidation.UnknownAsset.selector, address(collateralToken)));
        wbtcAdapter.price(address(collateralToken));
    }

    function test_constructor_rejects_a_token_without_decimals() public {
        MarketParams memory params = MarketParams({
            loanToken: address(loanToken),
            collateralToken: address(oracle), // has code, but no decimals()
            oracle: address(oracle),
            irm: address(irm),
            lltv: LLTV
        });
        morpho.createMarket(params);
        vm.expectRevert(abi.encodeWithSelector(MorphoPreLiquidation.UnsupportedToken.selector, address(oracle)));
        new MorphoPreLiquidation(marketAdmin, morpho, params.id(), address(settlement), _defaultParams());
    }
}
