// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";
import {HostileAdapter} from "../mocks/HostileAdapter.sol";

/// @notice Anyone can register an adapter, so adapters may lie. The debt asset is fixed when the
/// market is registered: whatever the adapter answers later, `settle` and `liquidateOpen` take only
/// that asset from the executor, and the executor's approvals for other markets stay untouched.
contract HostileAdapterTest is SettlementHelper {
    TestToken internal registeredAsset;
    HostileAdapter internal adapter;
    bytes32 internal hostileId;

    function setUp() public override {
        super.setUp();
        registeredAsset = new TestToken("Hostile USD", "hUSD");
        adapter = new HostileAdapter(marketAdmin, address(registeredAsset));
        vm.startPrank(marketAdmin);
        hostileId = settlement.registerMarket(address(adapter), beneficiary, 0);
        settlement.setLadder(hostileId, 1e18, 0);
        vm.stopPrank();
        registeredAsset.mint(executor, 1_000e18);
        _approve(address(registeredAsset), executor, address(settlement), type(uint256).max);
        // The executor also serves the honest market: it approved the settlement for its debt asset
        // (SettlementHelper), and holds collateral tokens.
        weth.mint(executor, 5e18);
        _approve(address(weth), executor, address(settlement), type(uint256).max);
        adapter.addLoot(debtAsset);
        adapter.addLoot(address(weth));
    }

    function test_liquidateOpen_pulls_only_the_debt_asset_registered_with_the_market() public {
        adapter.switchDebtAsset(debtAsset); // now it names the honest market's asset
        uint256 honestBefore = _balanceOf(debtAsset, executor);
        vm.prank(executor);
        (bool ok,) = address(settlement).call(
            abi.encodeCall(LiquidationSettlement.liquidateOpen, (hostileId, borrower, 1e18))
        );
        assertEq(_balanceOf(debtAsset, executor), honestBefore, "the honest market's asset never leaves");
        assertEq(weth.balanceOf(executor), 5e18, "nor does any other token");
        if (ok) assertEq(registeredAsset.balanceOf(executor), 1_000e18 - 1e18, "only the registered asset, the repay");
    }

    function test_settle_pulls_only_the_debt_asset_registered_with_the_market() public {
        adapter.switchDebtAsset(debtAsset);
        uint256 nonce = settlement.nonces(hostileId, borrower);
        LiquidationSettlement.Award memory award = LiquidationSettlement.Award({
            intentId: settlement.intentIdOf(hostileId, borrower, nonce),
            marketId: hostileId,
            account: borrower,
            nonce: nonce,
            executor: executor,
            repayAmount: 1e18,
            premium: 1e18,
            deadline: block.timestamp
        });
        bytes[] memory signatures = _signatures(award, 2);
        uint256 honestBefore = _balanceOf(debtAsset, executor);
        vm.prank(executor);
        (bool ok,) = address(settlement).call(abi.encodeCall(LiquidationSettlement.settle, (award, signatures)));
        assertEq(_balanceOf(debtAsset, executor), honestBefore, "the honest market's asset never leaves");
        assertEq(weth.balanceOf(executor), 5e18, "nor does any other token");
        if (ok) {
            assertEq(registeredAsset.balanceOf(executor), 1_000e18 - 2e18, "only the registered asset: repay + premium");
        }
    }
}
