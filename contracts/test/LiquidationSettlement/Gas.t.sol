// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice Gas of the hot path, recorded in snapshots/ by `forge test` (snapshotGasLastCall). These
/// measure; they assert nothing about speed. Everything is prepared in setUp so the measured call
/// starts with cold storage, as a real settlement transaction does (add 21,000 + calldata for the tx).
abstract contract SettleGasBase is SettlementHelper {
    LiquidationSettlement.Award internal preparedAward;
    bytes[] internal preparedSignatures;

    function _committee() internal pure virtual returns (uint256 committeeSize, uint256 threshold);

    function setUp() public override {
        (uint256 committeeSize, uint256 threshold) = _committee();
        _deploy(address(new TestToken("Backstop USD", "bUSD")), committeeSize, threshold);
        // A beneficiary and an executor that already hold tokens, as in steady state.
        TestToken(debtAsset).mint(beneficiary, 1);
        collateralToken.mint(executor, 1);
        preparedAward = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(preparedAward, threshold);
        for (uint256 i = 0; i < signatures.length; ++i) {
            preparedSignatures.push(signatures[i]);
        }
    }

    function _settlePrepared(string memory name) internal {
        LiquidationSettlement.Award memory award = preparedAward;
        bytes[] memory signatures = preparedSignatures;
        vm.prank(executor);
        settlement.settle(award, signatures);
        vm.snapshotGasLastCall(name);
    }
}

contract SettleGas2of3Test is SettleGasBase {
    function _committee() internal pure override returns (uint256, uint256) {
        return (3, 2);
    }

    function test_gas_settle_2_of_3() public {
        _settlePrepared("settle 2-of-3");
    }
}

contract SettleGas3of5Test is SettleGasBase {
    function _committee() internal pure override returns (uint256, uint256) {
        return (5, 3);
    }

    function test_gas_settle_3_of_5() public {
        _settlePrepared("settle 3-of-5");
    }
}
