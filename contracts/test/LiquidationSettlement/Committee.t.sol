// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {TwoStepOwnable} from "../../src/access/TwoStepOwnable.sol";

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
        vm.expectRevert(TwoStepOwnable.OnlyOwner.selector);
        settlement.addAttester(address(0x1234));
        vm.expectRevert(TwoStepOwnable.OnlyOwner.selector);
        settlement.setThreshold(1);
        vm.expectRevert(TwoStepOwnable.OnlyOwner.selector);
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

    function test_setThreshold_rejects_zero_and_above_committee_size() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidThreshold.selector, 0, 3));
        settlement.setThreshold(0);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidThreshold.selector, 4, 3));
        settlement.setThreshold(4);
        vm.expectEmit(false, false, false, true, address(settlement));
        emit LiquidationSettlement.ThresholdChanged(3);
        settlement.setThreshold(3);
        vm.stopPrank();
        assertEq(settlement.threshold(), 3, "threshold raised to the committee size");
    }

    function test_addAttester_emits_and_grows_the_committee() public {
        address member = address(0x1234);
        vm.expectEmit(true, false, false, false, address(settlement));
        emit LiquidationSettlement.AttesterAdded(member);
        vm.prank(owner);
        settlement.addAttester(member);
        assertTrue(settlement.isAttester(member), "added");
        assertEq(settlement.attesters().length, 4, "size grows");
    }

    function test_addAttester_rejects_zero_and_existing_members() public {
        vm.startPrank(owner);
        vm.expectRevert(TwoStepOwnable.ZeroAddress.selector);
        settlement.addAttester(address(0));
        address existing = vm.addr(attesterKeys[0]);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.AlreadyAttester.selector, existing));
        settlement.addAttester(existing);
        vm.stopPrank();
    }

    function test_removeAttester_emits_and_rejects_non_members() public {
        address member = vm.addr(attesterKeys[2]);
        vm.startPrank(owner);
        vm.expectEmit(true, false, false, false, address(settlement));
        emit LiquidationSettlement.AttesterRemoved(member);
        settlement.removeAttester(member);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.NotAttester.selector, member));
        settlement.removeAttester(member);
        vm.stopPrank();
    }

    function test_transferOwnership_takes_effect_only_when_accepted() public {
        address next = address(0x2222);
        vm.prank(owner);
        settlement.transferOwnership(next);
        assertEq(settlement.owner(), owner, "the old owner stays until acceptance");
        assertEq(settlement.pendingOwner(), next, "pending");

        vm.expectRevert(abi.encodeWithSelector(TwoStepOwnable.NotPendingOwner.selector, address(this), next));
        settlement.acceptOwnership();

        vm.expectEmit(true, true, false, false, address(settlement));
        emit TwoStepOwnable.OwnershipTransferred(owner, next);
        vm.prank(next);
        settlement.acceptOwnership();
        assertEq(settlement.owner(), next, "new owner");
        assertEq(settlement.pendingOwner(), address(0), "nothing pending");

        vm.expectRevert(TwoStepOwnable.OnlyOwner.selector);
        vm.prank(owner);
        settlement.setThreshold(1);
    }

    function test_transferOwnership_only_by_owner() public {
        vm.expectRevert(TwoStepOwnable.OnlyOwner.selector);
        settlement.transferOwnership(address(this));
    }

    function _members(uint256 count) internal pure returns (address[] memory members) {
        members = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            members[i] = vm.addr(0xC0FFEE + i);
        }
    }
}
