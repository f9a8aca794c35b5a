// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RegistryHelper} from "./Helper.sol";
import {SolverRegistry} from "../../src/SolverRegistry.sol";

contract ConstructorTest is RegistryHelper {
    function test_constructor_records_the_minimum_bond_and_exit_delay() public view {
        assertEq(registry.minBond(), MIN_BOND, "min bond");
        assertEq(registry.exitDelay(), EXIT_DELAY, "exit delay");
    }

    function test_constructor_rejects_a_zero_minimum_bond() public {
        vm.expectRevert(SolverRegistry.InvalidMinBond.selector);
        new SolverRegistry(0, EXIT_DELAY);
    }

    function test_registry_refuses_plain_transfers() public {
        vm.prank(executor);
        (bool ok,) = address(registry).call{value: 1 ether}("");
        assertFalse(ok, "only bonds enter the registry");
    }
}
