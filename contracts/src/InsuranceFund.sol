// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Minimal} from "./interfaces/IERC20Minimal.sol";
import {SafeTransferLib} from "./libraries/SafeTransferLib.sol";

/// @title InsuranceFund
/// @notice Holds a margin engine's reserve in its debt asset. Auction premiums arrive here (it is the
/// beneficiary the engine's admin registers with the settlement contract) and anyone may top it up
/// with a plain transfer; only the engine draws on it, to absorb a liquidation's shortfall.
/// @dev Deployed by the MarginEngine in its constructor, so the engine is fixed and the fund's balance
/// is the whole accounting: there is nothing to reconcile and no admin who could drain it.
contract InsuranceFund {
    using SafeTransferLib for address;

    /// @notice Paid towards a shortfall (`paid` may be less than `requested` when the fund runs dry).
    event ShortfallPaid(uint256 requested, uint256 paid);

    error OnlyEngine();

    address public immutable engine;
    address public immutable asset;

    constructor(address asset_) {
        engine = msg.sender;
        asset = asset_;
    }

    /// @notice The fund's reserve in debt-asset units.
    function balance() public view returns (uint256) {
        return IERC20Minimal(asset).balanceOf(address(this));
    }

    /// @notice Sends the engine as much of `amount` as the fund holds.
    /// @return paid What was sent; the engine records the rest as bad debt.
    function cover(uint256 amount) external returns (uint256 paid) {
        if (msg.sender != engine) revert OnlyEngine();
        uint256 available = balance();
        paid = amount < available ? amount : available;
        if (paid > 0) asset.safeTransfer(engine, paid);
        emit ShortfallPaid(amount, paid);
    }
}
