// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {SolverRegistry} from "../../src/SolverRegistry.sol";

/// @notice Base for SolverRegistry tests: a 1 ETH minimum bond, a one-day exit delay, and a funded
/// executor with its solver's ed25519 key.
abstract contract RegistryHelper is Test {
    uint256 internal constant MIN_BOND = 1 ether;
    uint64 internal constant EXIT_DELAY = 1 days;
    uint256 internal constant START_TIME = 1_700_000_000;
    bytes32 internal constant SOLVER_KEY = keccak256("solver ed25519 public key");

    address internal executor = address(0xE1EC);
    SolverRegistry internal registry;

    function setUp() public virtual {
        vm.warp(START_TIME);
        registry = new SolverRegistry(MIN_BOND, EXIT_DELAY);
        vm.deal(executor, 100 ether);
    }

    function _register(address who, bytes32 solverKey, uint256 bond) internal {
        vm.prank(who);
        registry.register{value: bond}(solverKey);
    }

    /// @dev Registers the standard executor, requests its exit and waits it out.
    function _readyToWithdraw() internal {
        _register(executor, SOLVER_KEY, 2 ether);
        vm.prank(executor);
        registry.requestExit();
        vm.warp(block.timestamp + EXIT_DELAY);
    }
}
