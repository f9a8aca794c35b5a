// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";

/// @notice Constructor validation and owner-managed committee changes.
contract CommitteeTest is SettlementHelper {
    function test_constructor_records_owner_attesters_and_threshold() public view {
        assertEq(settlement.owner(), owner, "owner");
        assertEq(settlement.threshold(), 2, "threshold");
        address[] memory members = settlement.attesters();
        assertEq(members.length, 3, "committee size");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(members[i], vm.addr(attesterKeys[i]), "attester order preserved");
            assertTrue(settlement.isAttester(members[i]), "member is an attester");
        }
        assertFalse(settlement.isAttester(executor), "non-member is not an attester");
    }

    function test_constructor_rejects_zero_threshold() public {
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidThreshold.selector, 0, 2));
        new LiquidationSettlement(owner, _members(2), 0);
    }

    function test_constructor_rejects_threshold_above_committee_size() public {
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidThreshold.selector, 3, 2));
        new LiquidationSettlement(owner, _members(2), 3);
    }

    function test_constructor_rejects_duplicate_attester() public {
        address[] memory members = _members(2);
        members[1] = members[0];
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AlreadyAttester.selector, members[0]));
        new LiquidationSettlement(owner, members, 1);
    }

    function test_committee_changes_only_by_owner() public {
        vm.expectRevert(LiquidationSettlement.OnlyOwner.selector);
        settlement.addAttester(address(0x1234));
        vm.expectRevert(LiquidationSettlement.OnlyOwner.selector);
        settlement.setThreshold(1);
        vm.expectRevert(LiquidationSettlement.OnlyOwner.selector);
        settlement.removeAttester(vm.addr(attesterKeys[0]));
    }

    function test_removeAttester_keeps_the_rest_of_the_committee() public {
        address removed = vm.addr(attesterKeys[0]);
        vm.prank(owner);
        settlement.removeAttester(removed);
        assertFalse(settlement.isAttester(removed), "removed");
        assertTrue(settlement.isAttester(vm.addr(attesterKeys[1])), "second kept");
        assertTrue(settlement.isAttester(vm.addr(attesterKeys[2])), "third kept");
        assertEq(settlement.attesters().length, 2, "size shrinks");

        // The remaining two still settle, and the removed member's signature no longer counts.
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = new bytes[](2);
        signatures[0] = _signature(attesterKeys[2], award);
        signatures[1] = _signature(attesterKeys[0], award);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.SignerNotAttester.selector, 1, removed));
        _settle(award, signatures);
        signatures[1] = _signature(attesterKeys[1], award);
        _settle(award, signatures);
    }

    function test_removeAttester_rejects_dropping_below_threshold() public {
        vm.startPrank(owner);
        settlement.removeAttester(vm.addr(attesterKeys[0]));
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidThreshold.selector, 2, 1));
        settlement.removeAttester(vm.addr(attesterKeys[1]));
        vm.stopPrank();
    }

    function _members(uint256 count) internal pure returns (address[] memory members) {
        members = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            members[i] = vm.addr(0xC0FFEE + i);
        }
    }
}
