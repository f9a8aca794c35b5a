// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryHelper} from "./Helper.sol";
import {SolverRegistry} from "../../src/SolverRegistry.sol";

contract RequestExitTest is RegistryHelper {
    function test_requestExit_stops_admission_at_once_and_emits() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        uint64 exitAt = uint64(block.timestamp + EXIT_DELAY);
        vm.expectEmit(true, true, false, true, address(registry));
        emit SolverRegistry.SolverExitRequested(executor, SOLVER_KEY, exitAt);
        vm.prank(executor);
        registry.requestExit();
        (, uint256 bond, uint64 recordedExitAt) = registry.solverOf(executor);
        assertEq(recordedExitAt, exitAt, "exit time");
        assertEq(bond, MIN_BOND, "the bond stays until withdrawn");
        assertFalse(registry.isAdmitted(executor, SOLVER_KEY), "no longer admitted");
    }

    function test_requestExit_rejects_an_unregistered_executor() public {
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.NotRegistered.selector, executor));
        vm.prank(executor);
        registry.requestExit();
    }

    function test_requestExit_rejects_a_second_request_so_the_delay_cannot_be_reset() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.prank(executor);
        registry.requestExit();
        uint64 exitAt = uint64(block.timestamp + EXIT_DELAY);
        vm.warp(block.timestamp + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.AlreadyExiting.selector, executor, exitAt));
        vm.prank(executor);
        registry.requestExit();
    }

    function test_requestExit_with_an_absurd_delay_never_wraps_to_an_early_exit() public {
        SolverRegistry slow = new SolverRegistry(MIN_BOND, type(uint64).max);
        vm.prank(executor);
        slow.register{value: MIN_BOND}(SOLVER_KEY);
        vm.prank(executor);
        slow.requestExit();
        (,, uint64 exitAt) = slow.solverOf(executor);
        assertEq(exitAt, type(uint64).max, "saturated");
    }
}
