// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryHelper} from "./Helper.sol";

/// @notice isAdmitted and solverOf: the rule nodes apply to every commit.
contract IsAdmittedTest is RegistryHelper {
    function test_isAdmitted_needs_the_same_key_from_the_same_executor() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        assertTrue(registry.isAdmitted(executor, SOLVER_KEY), "its own key");
        assertFalse(registry.isAdmitted(executor, keccak256("another key")), "another key");
        assertFalse(registry.isAdmitted(address(0x5757), SOLVER_KEY), "another executor");
        assertFalse(registry.isAdmitted(executor, bytes32(0)), "the zero key never");
    }

    function test_isAdmitted_false_for_an_unknown_executor() public view {
        assertFalse(registry.isAdmitted(executor, SOLVER_KEY), "no record");
        (bytes32 solverKey, uint256 bond, uint64 exitAt) = registry.solverOf(executor);
        assertEq(solverKey, bytes32(0), "empty");
        assertEq(bond, 0, "empty");
        assertEq(exitAt, 0, "empty");
    }

    function test_isAdmitted_false_once_exiting() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.prank(executor);
        registry.requestExit();
        assertFalse(registry.isAdmitted(executor, SOLVER_KEY), "exiting");
    }
}
