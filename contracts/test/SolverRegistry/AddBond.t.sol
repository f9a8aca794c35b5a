// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryHelper} from "./Helper.sol";
import {SolverRegistry} from "../../src/SolverRegistry.sol";

contract AddBondTest is RegistryHelper {
    function test_addBond_grows_the_bond_and_emits() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.expectEmit(true, false, false, true, address(registry));
        emit SolverRegistry.BondIncreased(executor, 3 ether);
        vm.prank(executor);
        registry.addBond{value: 2 ether}();
        (, uint256 bond,) = registry.solverOf(executor);
        assertEq(bond, 3 ether, "grown");
        assertEq(address(registry).balance, 3 ether, "held");
    }

    function test_addBond_rejects_an_unregistered_executor() public {
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.NotRegistered.selector, executor));
        vm.prank(executor);
        registry.addBond{value: 1 ether}();
    }

    function test_addBond_rejects_an_exiting_executor() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.prank(executor);
        registry.requestExit();
        uint64 exitAt = uint64(block.timestamp + EXIT_DELAY);
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.AlreadyExiting.selector, executor, exitAt));
        vm.prank(executor);
        registry.addBond{value: 1 ether}();
    }

    function test_addBond_rejects_zero() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.expectRevert(SolverRegistry.ZeroAmount.selector);
        vm.prank(executor);
        registry.addBond();
    }
}
