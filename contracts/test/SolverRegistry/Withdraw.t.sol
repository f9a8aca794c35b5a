// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryHelper} from "./Helper.sol";
import {SolverRegistry} from "../../src/SolverRegistry.sol";

/// @notice An executor contract that re-enters the registry from the bond's transfer.
contract ReentrantExecutor {
    SolverRegistry internal immutable registry;
    bytes public reentryError;
    uint256 public received;

    constructor(SolverRegistry registry_) {
        registry = registry_;
    }

    function register(bytes32 solverKey) external payable {
        registry.register{value: msg.value}(solverKey);
    }

    function requestExit() external {
        registry.requestExit();
    }

    function withdraw() external {
        registry.withdraw();
    }

    receive() external payable {
        received += msg.value;
        // A second withdraw (and a re-registration) from inside the transfer must fail.
        try registry.withdraw() {}
        catch (bytes memory reason) {
            reentryError = reason;
        }
    }
}

/// @notice An executor that cannot receive its bond.
contract RefusingExecutor {
    SolverRegistry internal immutable registry;

    constructor(SolverRegistry registry_) {
        registry = registry_;
    }

    function register(bytes32 solverKey) external payable {
        registry.register{value: msg.value}(solverKey);
    }

    function requestExit() external {
        registry.requestExit();
    }

    function withdraw() external {
        registry.withdraw();
    }
}

contract WithdrawTest is RegistryHelper {
    function test_withdraw_after_the_delay_returns_the_bond_deletes_the_record_and_emits() public {
        _readyToWithdraw();
        uint256 before = executor.balance;
        vm.expectEmit(true, true, false, true, address(registry));
        emit SolverRegistry.SolverWithdrawn(executor, SOLVER_KEY, 2 ether);
        vm.prank(executor);
        registry.withdraw();
        assertEq(executor.balance, before + 2 ether, "bond returned");
        assertEq(address(registry).balance, 0, "nothing left");
        (bytes32 solverKey, uint256 bond, uint64 exitAt) = registry.solverOf(executor);
        assertEq(solverKey, bytes32(0), "record deleted");
        assertEq(bond, 0, "no bond");
        assertEq(exitAt, 0, "no exit");
    }

    function test_withdraw_rejects_before_the_exit_delay_has_passed() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.prank(executor);
        registry.requestExit();
        uint64 exitAt = uint64(block.timestamp + EXIT_DELAY);
        vm.warp(exitAt - 1);
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.ExitNotDue.selector, executor, exitAt));
        vm.prank(executor);
        registry.withdraw();
    }

    function test_withdraw_rejects_without_an_exit_request() public {
        _register(executor, SOLVER_KEY, MIN_BOND);
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.ExitNotRequested.selector, executor));
        vm.prank(executor);
        registry.withdraw();
    }

    function test_withdraw_rejects_an_unregistered_executor() public {
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.NotRegistered.selector, executor));
        vm.prank(executor);
        registry.withdraw();
    }

    function test_withdraw_then_register_again() public {
        _readyToWithdraw();
        vm.prank(executor);
        registry.withdraw();
        bytes32 newKey = keccak256("a new key");
        _register(executor, newKey, MIN_BOND);
        assertTrue(registry.isAdmitted(executor, newKey), "registered afresh");
    }

    function test_withdraw_cannot_be_reentered_from_the_transfer() public {
        ReentrantExecutor attacker = new ReentrantExecutor(registry);
        vm.deal(address(attacker), 0);
        vm.deal(address(this), 10 ether);
        attacker.register{value: 2 ether}(SOLVER_KEY);
        _register(executor, SOLVER_KEY, 3 ether); // an honest bond the attacker would love to take
        attacker.requestExit();
        vm.warp(block.timestamp + EXIT_DELAY);

        attacker.withdraw();
        assertEq(attacker.received(), 2 ether, "its own bond, once");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(bytes4(attacker.reentryError()), SolverRegistry.Reentrancy.selector, "the reentry was refused");
        assertEq(address(registry).balance, 3 ether, "the honest bond is intact");
        (, uint256 honestBond,) = registry.solverOf(executor);
        assertEq(honestBond, 3 ether, "and still recorded");
    }

    function test_withdraw_reverts_whole_when_the_executor_refuses_the_bond() public {
        RefusingExecutor refusing = new RefusingExecutor(registry);
        vm.deal(address(this), 10 ether);
        refusing.register{value: 2 ether}(SOLVER_KEY);
        refusing.requestExit();
        vm.warp(block.timestamp + EXIT_DELAY);
        vm.expectRevert(abi.encodeWithSelector(SolverRegistry.TransferFailed.selector, address(refusing), 2 ether));
        refusing.withdraw();
        (, uint256 bond,) = registry.solverOf(address(refusing));
        assertEq(bond, 2 ether, "nothing lost: the record stays");
    }
}
