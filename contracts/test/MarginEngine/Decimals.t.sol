// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";
import {DecimalToken} from "../mocks/DecimalToken.sol";

/// @notice Tokens keep their own decimals: a 6-decimal debt asset (USDC-like) against an 8-decimal
/// (WBTC-like) and an 18-decimal (WETH-like) collateral are valued in the debt asset's own units.
contract DecimalsTest is Test {
    address internal admin = address(0xAD0);
    address internal borrower = address(0xB0B);
    address internal receiver = address(0xCAFE);
    DecimalToken internal usdc;
    DecimalToken internal wbtc;
    DecimalToken internal weth;
    MockPriceFeed[4] internal feeds;
    OracleRouter internal router;
    MarginEngine internal engine;

    function setUp() public {
        vm.warp(1_700_000_000);
        usdc = new DecimalToken("USDC", 6);
        wbtc = new DecimalToken("WBTC", 8);
        weth = new DecimalToken("WETH", 18);
        feeds[0] = new MockPriceFeed(8, 60_000e8);
        feeds[1] = new MockPriceFeed(8, 60_000e8);
        feeds[2] = new MockPriceFeed(8, 2_000e8);
        feeds[3] = new MockPriceFeed(8, 2_000e8);
        router = new OracleRouter(admin);
        OracleRouter.AssetConfig memory config = OracleRouter.AssetConfig({
            maxStaleness: 1 hours,
            anomalyCooldown: 10 minutes,
            maxDeviationWad: 0.02e18,
            maxJumpWad: 0.25e18,
            volatilityTimeConstant: 1 hours
        });
        vm.startPrank(admin);
        router.setAsset(address(wbtc), _pair(address(feeds[0]), address(feeds[1])), config, 0);
        router.setAsset(address(weth), _pair(address(feeds[2]), address(feeds[3])), config, 0);
        engine = new MarginEngine(
            admin,
            address(usdc),
            address(router),
            MarginEngine.RiskParams({
                maintenanceRatioWad: 1.1e18,
                initialMarginRatioWad: 1.25e18,
                closeFactorWad: 0.5e18,
                fullLiquidationHealthWad: 0.9e18,
                dustDebt: 10e6
            })
        );
        MarginEngine.CollateralParams memory plain = MarginEngine.CollateralParams({
            baseHaircutWad: 0, volatilityMultiplierWad: 0, maxHaircutWad: 0, liquidationBonusWad: 0.05e18
        });
        engine.addCollateral(address(wbtc), plain);
        engine.addCollateral(address(weth), plain);
        engine.setSettlement(address(this));
        vm.stopPrank();
        usdc.mint(address(engine), 10_000_000e6);
        usdc.mint(address(this), 10_000_000e6);
        usdc.approve(address(engine), type(uint256).max);
    }

    function test_accountHealth_values_an_8_decimal_collateral_in_6_decimal_debt_units() public {
        _deposit(wbtc, 1e8); // one WBTC
        (uint256 collateralValue,,) = engine.accountHealth(borrower);
        assertEq(collateralValue, 60_000e6, "one WBTC is worth 60,000 USDC");
    }

    function test_accountHealth_values_an_18_decimal_collateral_in_6_decimal_debt_units() public {
        _deposit(weth, 2e18);
        (uint256 collateralValue,,) = engine.accountHealth(borrower);
        assertEq(collateralValue, 4_000e6, "two WETH are worth 4,000 USDC");
    }

    function test_borrow_of_a_6_decimal_asset_stops_at_the_initial_margin() public {
        _deposit(wbtc, 1e8);
        _deposit(weth, 1e18);
        vm.startPrank(borrower);
        engine.borrow(49_600e6); // 62,000 / 1.25
        vm.expectRevert();
        engine.borrow(1);
        vm.stopPrank();
        assertEq(usdc.balanceOf(borrower), 49_600e6, "borrowed in USDC units");
        (, uint256 debtValue, uint256 requirement) = engine.accountHealth(borrower);
        assertEq(debtValue, 49_600e6, "debt in USDC units");
        assertEq(requirement, 54_560e6, "110% of the debt");
    }

    function test_liquidate_seizes_8_decimal_collateral_for_a_6_decimal_repay() public {
        _deposit(wbtc, 1e8);
        vm.prank(borrower);
        engine.borrow(48_000e6);
        feeds[0].setPrice(52_000e8);
        feeds[1].setPrice(52_000e8); // 52,000 against a 52,800 requirement
        assertTrue(engine.isLiquidatable(borrower), "under maintenance");
        assertEq(engine.maxRepay(borrower), 24_000e6, "the close factor of 48,000 USDC");
        uint256 seizedValue = engine.liquidate(borrower, 24_000e6, receiver);
        assertEq(seizedValue, 25_200e6 - 1, "repay plus the 5% bonus, in USDC units");
        assertEq(wbtc.balanceOf(receiver), 48_461_538, "25,200 USDC of WBTC at 52,000, rounded down");
        assertEq(engine.debtOf(borrower), 24_000e6, "debt halved");
    }

    function test_price_is_per_whole_token_whatever_the_decimals() public view {
        assertEq(engine.price(address(wbtc)), 60_000e18, "USD per WBTC, WAD");
        assertEq(engine.price(address(weth)), 2_000e18, "USD per WETH, WAD");
    }

    function _deposit(DecimalToken token, uint256 units) private {
        token.mint(borrower, units);
        vm.startPrank(borrower);
        token.approve(address(engine), units);
        engine.deposit(address(token), units);
        vm.stopPrank();
    }

    function _pair(address first, address second) private pure returns (address[] memory list) {
        list = new address[](2);
        list[0] = first;
        list[1] = second;
    }
}
