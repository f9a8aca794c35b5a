// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {MorphoHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";

/// @notice Gas of a pre-liquidation settle on the real Morpho, recorded in snapshots/ (snapshotGasLastCall),
/// next to the adapter's own share (the maxRepay and liquidate calls a settle makes) in the same state, so
/// "settle minus adapter" is the settlement's cost. Measures only. Prepared in setUp so the measured call
/// starts cold, as a real transaction does (add 21,000 + calldata), with a day of interest not yet accrued.
contract MorphoSettleGas3of5Test is MorphoHelper {
    LiquidationSettlement.Award internal preparedAward;
    bytes[] internal preparedSignatures;

    function setUp() public override {
        _deployMorpho();
        _deploySettlement(5, 3);
        adapter = _deployAdapter(_defaultParams());
        marketId = _register(adapter);
        _openBandPosition();
        vm.warp(block.timestamp + 1 days);
        _fundExecutor(1_000_000e18);
        // A beneficiary and an executor that already hold tokens, as in steady state.
        loanToken.mint(beneficiary, 1);
        collateralToken.mint(executor, 1);
        preparedAward = _award(marketId, borrower, adapter.maxRepay(borrower), PREMIUM);
        bytes[] memory signatures = _signatures(preparedAward, 3);
        for (uint256 i = 0; i < signatures.length; ++i) {
            preparedSignatures.push(signatures[i]);
        }
    }

    function test_gas_settle_3_of_5_morpho_pre_liquidation() public {
        LiquidationSettlement.Award memory award = preparedAward;
        bytes[] memory signatures = preparedSignatures;
        vm.prank(executor);
        settlement.settle(award, signatures);
        vm.snapshotGasLastCall("settle 3-of-5, Morpho pre-liquidation");
    }
}

/// @notice The adapter's work in that settle, with this test contract standing in for the settlement.
contract MorphoAdapterGasTest is MorphoHelper {
    address internal receiver = address(0xE1EC);
    uint256 internal repayAmount;

    function setUp() public override {
        _deployMorpho();
        settlement = LiquidationSettlement(address(this));
        adapter = _deployAdapter(_defaultParams());
        _openBandPosition();
        vm.warp(block.timestamp + 1 days);
        loanToken.mint(address(this), 1_000_000e18);
        loanToken.approve(address(adapter), type(uint256).max);
        collateralToken.mint(receiver, 1);
        repayAmount = adapter.maxRepay(borrower);
    }

    function test_gas_adapter_work_morpho_pre_liquidation() public {
        adapter.maxRepay(borrower);
        vm.snapshotGasLastCall("Morpho adapter: maxRepay");
        adapter.liquidate(borrower, repayAmount, receiver);
        vm.snapshotGasLastCall("Morpho adapter: liquidate");
    }
}
