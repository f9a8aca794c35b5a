// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "./Test.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice A funded MarginEngine with a debt token, a collateral token and a settable 8-decimal feed,
/// shared by the settlement and margin engine tests. Numbers: collateral starts at 2000 debt units,
/// maintenance 110%, bonus 5%, close factor 50%, initial margin 125%.
abstract contract MarketFixture is Test {
    int256 internal constant INITIAL_PRICE = 2000e8;
    uint256 internal constant MAINTENANCE_RATIO = 1.1e18;
    uint256 internal constant LIQUIDATION_BONUS = 0.05e18;
    uint256 internal constant CLOSE_FACTOR = 0.5e18;
    uint256 internal constant ENGINE_LIQUIDITY = 1_000_000e18;
    uint256 internal constant START_TIME = 1_700_000_000;

    address internal marketAdmin = address(0xAD0);
    address internal borrower = address(0xB0B);

    address internal debtAsset;
    TestToken internal collateralToken;
    MockPriceFeed internal feed;
    MarginEngine internal engine;

    function _deployMarket(address debtAsset_) internal {
        vm.warp(START_TIME);
        debtAsset = debtAsset_;
        collateralToken = new TestToken("Wrapped Ether", "WETH");
        feed = new MockPriceFeed(8, INITIAL_PRICE);
        engine = new MarginEngine(
            marketAdmin,
            debtAsset,
            address(collateralToken),
            address(feed),
            MAINTENANCE_RATIO,
            LIQUIDATION_BONUS,
            CLOSE_FACTOR
        );
        TestToken(debtAsset).mint(address(engine), ENGINE_LIQUIDITY);
        vm.label(address(engine), "MarginEngine");
        vm.label(debtAsset, "DebtToken");
        vm.label(address(collateralToken), "CollateralToken");
    }

    /// @dev Deposits `collateral` and borrows `debt` as `account` at the current price.
    function _openPosition(address account, uint256 collateral, uint256 debt) internal {
        collateralToken.mint(account, collateral);
        vm.startPrank(account);
        collateralToken.approve(address(engine), collateral);
        engine.deposit(collateral);
        if (debt > 0) engine.borrow(debt);
        vm.stopPrank();
    }

    /// @dev The standard unhealthy account: 10 collateral, 15,000 debt, then the price falls from
    /// 2000 to 1600, so collateral is worth 16,000 against a 16,500 requirement.
    function _openUnhealthyPosition(address account) internal {
        _openPosition(account, 10e18, 15_000e18);
        feed.setPrice(1600e8);
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
