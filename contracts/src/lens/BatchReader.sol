// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title BatchReader
/// @notice A deployless multicall for reads. Nothing is ever deployed: a client sends this
/// contract's creation code with the calls as constructor arguments in an `eth_call` without a
/// `to`, and the constructor makes every call and reverts with {BatchResults}. One `eth_call` then
/// does the work of hundreds, at one block, on any node that executes `eth_call` (no Multicall3
/// deployment, no state overrides).
/// @dev Why a revert and not a return: a constructor's return data becomes contract code, so it is
/// bound by EIP-170's 24,576 bytes and EIP-3541's 0xEF rule; revert data is bound by neither.
/// Every call is a STATICCALL with at most `gasPerCall` gas, so a target that burns its gas fails
/// alone (`success == false`, no data) while the batch goes on (EIP-150 keeps 1/64 back). Return
/// data longer than `maxReturnBytes` is not copied (`success == false`, no data): a target cannot
/// make the batch pay for memory it chose the size of. The initcode stays bound by EIP-3860's
/// 49,152 bytes, so a client sends a few hundred calls per batch.
contract BatchReader {
    struct Call {
        address target;
        bytes data;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice The batch's only outcome: one result per call, in order.
    error BatchResults(Result[] results);

    constructor(Call[] memory calls, uint256 gasPerCall, uint256 maxReturnBytes) {
        Result[] memory results = new Result[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            address target = calls[i].target;
            bytes memory data = calls[i].data;
            bool success;
            uint256 size;
            assembly ("memory-safe") {
                success := staticcall(gasPerCall, target, add(data, 0x20), mload(data), 0, 0)
                size := returndatasize()
            }
            if (size > maxReturnBytes) {
                results[i] = Result(false, "");
                continue;
            }
            bytes memory returnData = new bytes(size);
            assembly ("memory-safe") {
                returndatacopy(add(returnData, 0x20), 0, size)
            }
            results[i] = Result(success, returnData);
        }
        revert BatchResults(results);
    }
}
