// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TwoStepOwnable
/// @notice Ownership that moves only when the new owner accepts it, so a mistyped address can never
/// take over (or brick) the committee or the oracle configuration.
abstract contract TwoStepOwnable {
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error OnlyOwner();
    error NotPendingOwner(address caller, address pendingOwner);
    error ZeroAddress();

    address public owner;
    /// @notice The address that may call `acceptOwnership`; zero when no transfer is under way.
    address public pendingOwner;

    modifier onlyOwner() {
        if (msg.sender != owner) revert OnlyOwner();
        _;
    }

    constructor(address owner_) {
        if (owner_ == address(0)) revert ZeroAddress();
        owner = owner_;
        emit OwnershipTransferred(address(0), owner_);
    }

    /// @notice Starts a transfer; the owner stays in charge until `newOwner` accepts. Passing zero
    /// cancels a pending transfer.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    function acceptOwnership() external {
        address pending = pendingOwner;
        if (msg.sender != pending || pending == address(0)) revert NotPendingOwner(msg.sender, pending);
        emit OwnershipTransferred(owner, pending);
        owner = pending;
        pendingOwner = address(0);
    }
}
