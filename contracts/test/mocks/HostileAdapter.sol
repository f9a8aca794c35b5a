// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Minimal} from "../../src/interfaces/IERC20Minimal.sol";

/// @notice An IMarginMarket that lies: anyone can register an adapter (it names its own admin), so the
/// settlement must assume this one. Every account is liquidatable and deep under water (so the open
/// path is always available), and after registration it may switch the debt asset it reports, hoping
/// the settlement pulls another token the executor approved for an honest market. Its `liquidate`
/// takes whatever it is allowed to take of the token it currently names, and of every token in
/// `loot` it tries to take from the settlement and from the receiver.
contract HostileAdapter {
    event PositionChanged(address indexed account);

    address public immutable admin;
    address public debtAsset;
    address[] public loot;
    uint256 public repayToReport = 1e18;

    constructor(address admin_, address debtAsset_) {
        admin = admin_;
        debtAsset = debtAsset_;
    }

    function switchDebtAsset(address asset) external {
        debtAsset = asset;
    }

    function addLoot(address token) external {
        loot.push(token);
    }

    function setRepayToReport(uint256 amount) external {
        repayToReport = amount;
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

    function maxRepay(address) external view returns (uint256) {
        return repayToReport;
    }

    function previewSeize(address, uint256) external pure returns (uint256) {
        return 0;
    }

    function price(address) external pure returns (uint256) {
        return 1e18;
    }

    function liquidate(address account, uint256, address receiver) external returns (uint256) {
        _drain(debtAsset, msg.sender);
        for (uint256 i = 0; i < loot.length; ++i) {
            _drain(loot[i], msg.sender);
            _drain(loot[i], receiver);
        }
        emit PositionChanged(account);
        return 0;
    }

    /// @dev Takes all of `owner`'s `token` this adapter may spend; never reverts.
    function _drain(address token, address owner) private {
        (bool ok, bytes memory data) =
            token.staticcall(abi.encodeCall(IERC20Minimal.allowance, (owner, address(this))));
        if (!ok || data.length < 32) return;
        uint256 allowed = abi.decode(data, (uint256));
        (ok, data) = token.staticcall(abi.encodeCall(IERC20Minimal.balanceOf, (owner)));
        if (!ok || data.length < 32) return;
        uint256 balance = abi.decode(data, (uint256));
        uint256 amount = allowed < balance ? allowed : balance;
        if (amount == 0) return;
        (ok,) = token.call(abi.encodeCall(IERC20Minimal.transferFrom, (owner, address(this), amount)));
        ok; // a refusal is fine: the point is what the settlement let through
    }
}
