// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./Test.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice A funded MarginEngine with two collaterals, each priced by two settable 8-decimal feeds
/// through an OracleRouter; shared by the settlement and margin engine tests. Numbers: WETH at 2000
/// with no haircut and a 5% bonus (so single-WETH accounts read like a plain margin account), WBTC at
/// 60,000 with a 10% base haircut growing 2x with volatility up to 50% and an 8% bonus; maintenance
/// 110%, initial margin 125%, close factor 50%, full close below health 0.9, dust 10.
abstract contract MarketFixture is Test {
    int256 internal constant WETH_PRICE = 2000e8;
    int256 internal constant WBTC_PRICE = 60_000e8;
    uint256 internal constant MAINTENANCE_RATIO = 1.1e18;
    uint256 internal constant INITIAL_MARGIN_RATIO = 1.25e18;
    uint256 internal constant CLOSE_FACTOR = 0.5e18;
    uint256 internal constant FULL_LIQUIDATION_HEALTH = 0.9e18;
    uint256 internal constant DUST_DEBT = 10e18;
    uint64 internal constant WETH_BONUS = 0.05e18;
    uint64 internal constant WBTC_BONUS = 0.08e18;
    uint64 internal constant WBTC_BASE_HAIRCUT = 0.1e18;
    uint64 internal constant WBTC_VOLATILITY_MULTIPLIER = 2e18;
    uint64 internal constant WBTC_MAX_HAIRCUT = 0.5e18;
    uint32 internal constant MAX_STALENESS = 1 hours;
    uint32 internal constant ANOMALY_COOLDOWN = 10 minutes;
    uint64 internal constant MAX_DEVIATION = 0.02e18;
    uint64 internal constant MAX_JUMP = 0.25e18;
    uint32 internal constant VOLATILITY_TIME_CONSTANT = 1 hours;
    uint256 internal constant ENGINE_LIQUIDITY = 1_000_000e18;
    uint256 internal constant START_TIME = 1_700_000_000;

    address internal marketAdmin = address(0xAD0);
    address internal routerOwner = address(0x0AC1E);
    address internal borrower = address(0xB0B);

    address internal debtAsset;
    TestToken internal weth;
    TestToken internal wbtc;
    MockPriceFeed internal wethFeedA;
    MockPriceFeed internal wethFeedB;
    MockPriceFeed internal wbtcFeedA;
    MockPriceFeed internal wbtcFeedB;
    OracleRouter internal router;
    MarginEngine internal engine;

    function _deployMarket(address debtAsset_) internal {
        vm.warp(START_TIME);
        debtAsset = debtAsset_;
        weth = new TestToken("Wrapped Ether", "WETH");
        wbtc = new TestToken("Wrapped Bitcoin", "WBTC");
        wethFeedA = new MockPriceFeed(8, WETH_PRICE);
        wethFeedB = new MockPriceFeed(8, WETH_PRICE);
        wbtcFeedA = new MockPriceFeed(8, WBTC_PRICE);
        wbtcFeedB = new MockPriceFeed(8, WBTC_PRICE);

        router = new OracleRouter(routerOwner);
        vm.startPrank(routerOwner);
        router.setAsset(address(weth), _pair(address(wethFeedA), address(wethFeedB)), _routerConfig(), 0);
        router.setAsset(address(wbtc), _pair(address(wbtcFeedA), address(wbtcFeedB)), _routerConfig(), 0);
        vm.stopPrank();

        engine = new MarginEngine(marketAdmin, debtAsset, address(router), _riskParams());
        vm.startPrank(marketAdmin);
        engine.addCollateral(address(weth), _wethParams());
        engine.addCollateral(address(wbtc), _wbtcParams());
        vm.stopPrank();

        TestToken(debtAsset).mint(address(engine), ENGINE_LIQUIDITY);
        vm.label(address(engine), "MarginEngine");
        vm.label(address(router), "OracleRouter");
        vm.label(debtAsset, "DebtToken");
        vm.label(address(weth), "WETH");
        vm.label(address(wbtc), "WBTC");
    }

    function _riskParams() internal pure returns (MarginEngine.RiskParams memory) {
        return MarginEngine.RiskParams({
            maintenanceRatioWad: MAINTENANCE_RATIO,
            initialMarginRatioWad: INITIAL_MARGIN_RATIO,
            closeFactorWad: CLOSE_FACTOR,
            fullLiquidationHealthWad: FULL_LIQUIDATION_HEALTH,
            dustDebt: DUST_DEBT
        });
    }

    function _wethParams() internal pure returns (MarginEngine.CollateralParams memory) {
        return MarginEngine.CollateralParams({
            baseHaircutWad: 0, volatilityMultiplierWad: 0, maxHaircutWad: 0, liquidationBonusWad: WETH_BONUS
        });
    }

    function _wbtcParams() internal pure returns (MarginEngine.CollateralParams memory) {
        return MarginEngine.CollateralParams({
            baseHaircutWad: WBTC_BASE_HAIRCUT,
            volatilityMultiplierWad: WBTC_VOLATILITY_MULTIPLIER,
            maxHaircutWad: WBTC_MAX_HAIRCUT,
            liquidationBonusWad: WBTC_BONUS
        });
    }

    function _routerConfig() internal pure returns (OracleRouter.AssetConfig memory) {
        return OracleRouter.AssetConfig({
            maxStaleness: MAX_STALENESS,
            anomalyCooldown: ANOMALY_COOLDOWN,
            maxDeviationWad: MAX_DEVIATION,
            maxJumpWad: MAX_JUMP,
            volatilityTimeConstant: VOLATILITY_TIME_CONSTANT
        });
    }

    function _pair(address first, address second) internal pure returns (address[] memory list) {
        list = new address[](2);
        list[0] = first;
        list[1] = second;
    }

    /// @dev Moves both of WETH's feeds to `answer` (8 decimals).
    function _setWethPrice(int256 answer) internal {
        wethFeedA.setPrice(answer);
        wethFeedB.setPrice(answer);
    }

    function _setWbtcPrice(int256 answer) internal {
        wbtcFeedA.setPrice(answer);
        wbtcFeedB.setPrice(answer);
    }

    /// @dev Deposits `units` of `asset` and borrows `debt` as `account` at the current prices.
    function _openPosition(address account, TestToken asset, uint256 units, uint256 debt) internal {
        _deposit(account, asset, units);
        if (debt > 0) {
            vm.prank(account);
            engine.borrow(debt);
        }
    }

    function _deposit(address account, TestToken asset, uint256 units) internal {
        asset.mint(account, units);
        vm.startPrank(account);
        asset.approve(address(engine), units);
        engine.deposit(address(asset), units);
        vm.stopPrank();
    }

    /// @dev The standard unhealthy account: 10 WETH, 15,000 debt, then WETH falls from 2000 to 1600, so
    /// collateral is worth 16,000 against a 16,500 requirement (health 0.9697: award-only band).
    function _openUnhealthyPosition(address account) internal {
        _openPosition(account, weth, 10e18, 15_000e18);
        _setWethPrice(1600e8);
    }

    function _balanceOf(address token, address account) internal view returns (uint256) {
        return TestToken(token).balanceOf(account);
    }

    /// @dev approve through a low-level call so tokens that return nothing work too.
    function _approve(address token, address owner, address spender, uint256 amount) internal {
        vm.prank(owner);
        (bool ok,) = token.call(abi.encodeWithSignature("approve(address,uint256)", spender, amount));
        require(ok, "approve failed");
    }
}
