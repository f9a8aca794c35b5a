// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "./Vm.sol";

/// @notice Minimal replacement for forge-std's Test: the cheatcode handle, assertion shorthands,
/// `bound` for fuzz inputs, and the invariant target list forge reads.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    address[] private targetedContracts;

    /// @notice forge runs `invariant_*` functions against these contracts' functions.
    function targetContracts() public view returns (address[] memory) {
        return targetedContracts;
    }

    function targetContract(address target) internal {
        targetedContracts.push(target);
    }

    /// @dev Maps any fuzz input into [min, max] without discarding runs (unlike vm.assume).
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    function assertTrue(bool condition, string memory error) internal pure {
        vm.assertTrue(condition, error);
    }

    function assertFalse(bool condition, string memory error) internal pure {
        vm.assertFalse(condition, error);
    }

    function assertEq(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertEq(left, right, error);
    }

    function assertEq(address left, address right, string memory error) internal pure {
        vm.assertEq(left, right, error);
    }

    function assertEq(bytes32 left, bytes32 right, string memory error) internal pure {
        vm.assertEq(left, right, error);
    }

    function assertEq(bool left, bool right, string memory error) internal pure {
        vm.assertEq(left, right, error);
    }

    function assertGt(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertGt(left, right, error);
    }

    function assertGe(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertGe(left, right, error);
    }

    function assertLe(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertLe(left, right, error);
    }

    function assertLt(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertLt(left, right, error);
    }

    /// @dev |left - right| <= right * maxRelativeWad / 1e18 (plus one unit for rounding at zero).
    function assertApproxEqRel(uint256 left, uint256 right, uint256 maxRelativeWad, string memory error)
        internal
        pure
    {
        uint256 difference = left > right ? left - right : right - left;
        uint256 allowed = right / 1e18 * maxRelativeWad + (right % 1e18) * maxRelativeWad / 1e18 + 1;
        if (difference > allowed) {
            vm.assertEq(left, right, string.concat(error, " (beyond the relative tolerance)"));
        }
    }
}
