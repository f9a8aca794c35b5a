// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";

/// @notice A hostile IMarginMarket: every account is liquidatable, and `liquidate` tries to re-enter
/// the settlement contract (a second open liquidation) before doing anything else.
contract ReentrantAdapter {
    event PositionChanged(address indexed account);

    address public immutable admin;
    address public immutable debtAsset;
    LiquidationSettlement public settlement;
    bytes32 public marketId;

    constructor(address admin_, address debtAsset_) {
        admin = admin_;
        debtAsset = debtAsset_;
    }

    function arm(LiquidationSettlement settlement_, bytes32 marketId_) external {
        settlement = settlement_;
        marketId = marketId_;
    }

    function collateralAssets() external pure returns (address[] memory) {
        return new address[](0);
    }

    function accountHealth(address) external pure returns (uint256, uint256, uint256) {
        return (0, 1e18, 1e18);
    }

    function openLiquidationHealth(address) external pure returns (uint256, uint256, uint256) {
        return (0, 1e18, 1e18);
    }

    function isLiquidatable(address) external pure returns (bool) {
        return true;
    }

    function maxRepay(address) external pure returns (uint256) {
        return 1e18;
    }

    function previewSeize(address, uint256) external pure returns (uint256) {
        return 0;
    }

    function price(address) external pure returns (uint256) {
        return 1e18;
    }

    function liquidate(address account, uint256 repayAmount, address) external returns (uint256) {
        settlement.liquidateOpen(marketId, account, repayAmount);
        return 0;
    }
}
