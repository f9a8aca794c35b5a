// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarketFixture} from "../base/MarketFixture.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice Base for MarginEngine tests. The test contract itself is the engine's settlement, so
/// liquidation rules are tested without the committee machinery.
abstract contract EngineHelper is MarketFixture {
    address internal receiver = address(0xCAFE);

    function setUp() public virtual {
        _deployMarket(address(new TestToken("Backstop USD", "bUSD")));
        vm.prank(marketAdmin);
        engine.setSettlement(address(this));
        TestToken(debtAsset).mint(address(this), type(uint128).max);
        TestToken(debtAsset).approve(address(engine), type(uint256).max);
    }

    /// @dev An account of 10 WETH and 0.5 WBTC (worth 20,000 + 30,000, risk-adjusted 20,000 + 27,000)
    /// borrowing 37,000; then both fall 20% to 1,600 and 48,000: risk-adjusted 16,000 + 21,600 = 37,600
    /// against a 40,700 requirement (health 0.924).
    function _openMixedUnhealthyPosition(address account) internal {
        _deposit(account, weth, 10e18);
        _openPosition(account, wbtc, 0.5e18, 37_000e18);
        _setWethPrice(1600e8);
        _setWbtcPrice(48_000e8);
    }
}
