// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title SafeTransferLib
/// @notice ERC-20 calls that succeed for tokens returning `true` or nothing (USDT-style), and revert
/// for tokens returning `false`, reverting, or having no code. Settlement must never treat a silent
/// failure as a payment.
library SafeTransferLib {
    error TransferFailed(address token, address to, uint256 amount);
    error TransferFromFailed(address token, address from, address to, uint256 amount);
    error ApproveFailed(address token, address spender, uint256 amount);

    function safeTransfer(address token, address to, uint256 amount) internal {
        if (!_call(token, abi.encodeWithSelector(0xa9059cbb, to, amount))) {
            revert TransferFailed(token, to, amount);
        }
    }

    function safeTransferFrom(address token, address from, address to, uint256 amount) internal {
        if (!_call(token, abi.encodeWithSelector(0x23b872dd, from, to, amount))) {
            revert TransferFromFailed(token, from, to, amount);
        }
    }

    function safeApprove(address token, address spender, uint256 amount) internal {
        if (!_call(token, abi.encodeWithSelector(0x095ea7b3, spender, amount))) {
            revert ApproveFailed(token, spender, amount);
        }
    }

    /// @dev Success means: the call did not revert, and it returned either nothing (from a contract
    /// with code, so calls to an EOA are not mistaken for success) or an ABI-encoded `true`.
    function _call(address token, bytes memory data) private returns (bool) {
        (bool success, bytes memory returned) = token.call(data);
        if (!success) return false;
        if (returned.length == 0) return token.code.length > 0;
        return returned.length >= 32 && abi.decode(returned, (bool));
    }
}
