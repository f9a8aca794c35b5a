// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {RegistryHelper} from "./Helper.sol";
import {SolverRegistry} from "../../src/SolverRegistry.sol";

/// @notice Registers, tops up, exits and withdraws for a few executors in random order, with time.
contract RegistryHandler is Test {
    SolverRegistry internal immutable registry;
    address[] public executors;
    mapping(address executor => uint256) public paidIn;
    mapping(address executor => uint256) public paidOut;

    constructor(SolverRegistry registry_) {
        registry = registry_;
        for (uint256 i = 0; i < 4; ++i) {
            // casting to 'uint160' is safe because 0xE0 + i is tiny
            // forge-lint: disable-next-line(unsafe-typecast)
            address executor = address(uint160(0xE0 + i));
            executors.push(executor);
            vm.deal(executor, 1_000 ether);
        }
    }

    function executorCount() external view returns (uint256) {
        return executors.length;
    }

    function register(uint256 who, uint256 keySeed, uint256 bondSeed) external {
        address executor = executors[who % executors.length];
        uint256 bond = bound(bondSeed, registry.minBond(), 10 ether);
        vm.prank(executor);
        try registry.register{value: bond}(keccak256(abi.encode(keySeed))) {
            paidIn[executor] += bond;
        } catch {}
    }

    function addBond(uint256 who, uint256 amountSeed) external {
        address executor = executors[who % executors.length];
        uint256 amount = bound(amountSeed, 1, 5 ether);
        vm.prank(executor);
        try registry.addBond{value: amount}() {
            paidIn[executor] += amount;
        } catch {}
    }

    function requestExit(uint256 who) external {
        vm.prank(executors[who % executors.length]);
        try registry.requestExit() {} catch {}
    }

    function withdraw(uint256 who) external {
        address executor = executors[who % executors.length];
        uint256 before = executor.balance;
        vm.prank(executor);
        try registry.withdraw() {
            paidOut[executor] += executor.balance - before;
        } catch {}
    }

    function advanceTime(uint256 secondsSeed) external {
        vm.warp(block.timestamp + bound(secondsSeed, 1, 2 days));
    }
}

contract RegistryInvariantTest is RegistryHelper {
    RegistryHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new RegistryHandler(registry);
        targetContract(address(handler));
    }

    function invariant_balance_equals_the_sum_of_bonds() public view {
        uint256 sum;
        for (uint256 i = 0; i < handler.executorCount(); ++i) {
            (, uint256 bond,) = registry.solverOf(handler.executors(i));
            sum += bond;
        }
        assertEq(address(registry).balance, sum, "every wei held is someone's bond");
    }

    function invariant_each_executor_gets_back_exactly_what_it_bonded() public view {
        for (uint256 i = 0; i < handler.executorCount(); ++i) {
            address executor = handler.executors(i);
            (, uint256 bond,) = registry.solverOf(executor);
            assertEq(handler.paidIn(executor), handler.paidOut(executor) + bond, "in = out + held");
        }
    }

    function invariant_admitted_solvers_hold_at_least_the_minimum_bond() public view {
        for (uint256 i = 0; i < handler.executorCount(); ++i) {
            (bytes32 solverKey, uint256 bond, uint64 exitAt) = registry.solverOf(handler.executors(i));
            if (registry.isAdmitted(handler.executors(i), solverKey)) {
                assertGe(bond, registry.minBond(), "bonded");
                assertEq(exitAt, 0, "not exiting");
            }
        }
    }
}
