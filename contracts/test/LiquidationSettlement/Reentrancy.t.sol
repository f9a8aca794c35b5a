// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {ReentrantAdapter} from "../mocks/ReentrantAdapter.sol";

/// @notice A hostile adapter cannot re-enter the settlement from inside a liquidation.
contract ReentrancyTest is SettlementHelper {
    function test_liquidateOpen_rejects_reentry_from_the_adapter() public {
        ReentrantAdapter adapter = new ReentrantAdapter(marketAdmin, debtAsset);
        vm.startPrank(marketAdmin);
        bytes32 hostileId = settlement.registerMarket(address(adapter), beneficiary, 0);
        settlement.setLadder(hostileId, 1e18, 0);
        vm.stopPrank();
        adapter.arm(settlement, hostileId);

        vm.expectRevert(LiquidationSettlement.Reentrancy.selector);
        vm.prank(executor);
        settlement.liquidateOpen(hostileId, borrower, 1e18);
    }

    function test_settle_rejects_reentry_from_the_adapter() public {
        ReentrantAdapter adapter = new ReentrantAdapter(marketAdmin, debtAsset);
        vm.prank(marketAdmin);
        bytes32 hostileId = settlement.registerMarket(address(adapter), beneficiary, 0);
        adapter.arm(settlement, hostileId);

        uint256 nonce = settlement.nonces(hostileId, borrower);
        LiquidationSettlement.Award memory award = LiquidationSettlement.Award({
            intentId: settlement.intentIdOf(hostileId, borrower, nonce),
            marketId: hostileId,
            account: borrower,
            nonce: nonce,
            executor: executor,
            repayAmount: 1e18,
            premium: 0,
            deadline: block.timestamp
        });
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(LiquidationSettlement.Reentrancy.selector);
        _settle(award, signatures);
    }
}
