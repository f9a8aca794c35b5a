// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";

/// @notice Base for OracleRouter tests: one asset priced by two 8-decimal feeds at 2000, staleness 1 h,
/// deviation 2%, jump 10%, cooldown 10 min, volatility time constant 1 h, starting volatility zero.
abstract contract RouterHelper is Test {
    uint256 internal constant START_TIME = 1_700_000_000;
    address internal owner = address(0x0AC1E);
    address internal asset = address(0xE7);

    OracleRouter internal router;
    MockPriceFeed internal feedA;
    MockPriceFeed internal feedB;

    function setUp() public virtual {
        vm.warp(START_TIME);
        router = new OracleRouter(owner);
        feedA = new MockPriceFeed(8, 2000e8);
        feedB = new MockPriceFeed(8, 2000e8);
        vm.prank(owner);
        router.setAsset(asset, _feeds(address(feedA), address(feedB)), _config(), 0);
    }

    function _config() internal pure returns (OracleRouter.AssetConfig memory) {
        return OracleRouter.AssetConfig({
            maxStaleness: 1 hours,
            anomalyCooldown: 10 minutes,
            maxDeviationWad: 0.02e18,
            maxJumpWad: 0.1e18,
            volatilityTimeConstant: 1 hours
        });
    }

    function _feeds(address first, address second) internal pure returns (address[] memory list) {
        list = new address[](2);
        list[0] = first;
        list[1] = second;
    }

    function _setBoth(int256 answer) internal {
        feedA.setPrice(answer);
        feedB.setPrice(answer);
    }
}
