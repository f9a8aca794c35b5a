// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryHelper} from "./Helper.sol";
import {SolverRegistry} from "../../src/SolverRegistry.sol";

contract RegisterTest is RegistryHelper {
    function test_register_bonds_the_key_to_the_caller_and_emits() public {
        vm.expectEmit(true, true, false, true, address(registry));
        emit SolverRegistry.SolverRegistered(executor, SOLVER_KEY, 1.5 ether);
        _register(executor, SOLVER_KEY, 1.5 ether);
        (bytes32 solverKey, uint256 bond, uint64 exitAt) = registry.solverOf(executor);
        assertEq(solverKey, SOLVER_KEY, "key");
        assertEq(bond, 1.5 ether, "the whole value is the bond");
        assertEq(exitAt, 0, "not exiting");
        assertEq(address(registry).balance, 1.5 ether, "held");
        assertTrue(registry.isAdmitted(executor, SOLVER_KEY), "admitted");
    }

    function test_register_rejects_a_bond_below_the_minimum() public {
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.BondBelowMinimum.selector, MIN_BOND - 1, MIN_BOND));
        _register(executor, SOLVER_KEY, MIN_BOND - 1);
    }

    function test_register_accepts_exactly_the_minimum() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        assertTrue(registry.isAdmitted(executor, SOLVER_KEY), "admitted at the minimum");
    }

    function test_register_rejects_a_zero_key() public {
        vm.expectRevert(SolverRegistry.ZeroSolverKey.selector);
        _register(executor, bytes32(0), MIN_BOND);
    }

    function test_register_rejects_an_executor_already_registered() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.AlreadyRegistered.selector, executor));
        _register(executor, keccak256("another key"), MIN_BOND);
    }

    function test_register_rejects_an_executor_that_is_exiting() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.prank(executor);
        registry.requestExit();
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.AlreadyRegistered.selector, executor));
        _register(executor, SOLVER_KEY, MIN_BOND);
    }

    function test_register_the_same_key_by_a_stranger_admits_only_the_strangers_executor() public {
        address stranger = address(0x5757);
        vm.deal(stranger, 1 ether);
        _register(executor, SOLVER_KEY, MIN_BOND);
        _register(stranger, SOLVER_KEY, MIN_BOND); // it gains nothing: the key signs for `executor` only
        assertTrue(registry.isAdmitted(stranger, SOLVER_KEY), "a bond under its own executor");
        assertTrue(registry.isAdmitted(executor, SOLVER_KEY), "the owner's admission is untouched");
    }
}
