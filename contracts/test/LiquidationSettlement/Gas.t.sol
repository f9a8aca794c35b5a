// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {MarketFixture} from "../base/MarketFixture.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice Gas of the hot path, recorded in snapshots/ by `forge test` (snapshotGasLastCall). These
/// measure; they assert nothing about speed. Everything is prepared in setUp so the measured call
/// starts with cold storage, as a real settlement transaction does (add 21,000 + calldata for the tx).
/// `AdapterGas*` measure the adapter's own share of a settle (the maxRepay and liquidate calls the
/// settlement makes; the debt asset is read from the settlement's own registry) in the same state, so
/// "settle minus adapter" is the settlement's cost.
abstract contract SettleGasBase is SettlementHelper {
    LiquidationSettlement.Award internal preparedAward;
    bytes[] internal preparedSignatures;

    function _committee() internal pure virtual returns (uint256 committeeSize, uint256 threshold);

    /// @dev The account liquidated; the standard single-collateral one unless overridden.
    function _prepareAccount() internal virtual returns (uint256 repayAmount) {
        return REPAY;
    }

    function setUp() public override {
        (uint256 committeeSize, uint256 threshold) = _committee();
        _deploy(address(new TestToken("Backstop USD", "bUSD")), committeeSize, threshold);
        uint256 repayAmount = _prepareAccount();
        // A beneficiary and an executor that already hold tokens, as in steady state.
        TestToken(debtAsset).mint(beneficiary, 1);
        weth.mint(executor, 1);
        wbtc.mint(executor, 1);
        preparedAward = _award(repayAmount, PREMIUM);
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

/// @notice The same 3-of-5 settle of an account holding both collaterals (two seizures, two transfers).
contract SettleGas3of5TwoCollateralsTest is SettleGasBase {
    function _committee() internal pure override returns (uint256, uint256) {
        return (5, 3);
    }

    function _prepareAccount() internal override returns (uint256) {
        return _openTwoCollateralAccount(address(0xA2));
    }

    function test_gas_settle_3_of_5_two_collaterals() public {
        _settlePrepared("settle 3-of-5, two collaterals");
    }

    function _openTwoCollateralAccount(address account) internal returns (uint256 repayAmount) {
        _setWethPrice(2000e8);
        _deposit(account, weth, 10e18);
        _openPosition(account, wbtc, 0.5e18, 37_000e18);
        _setWethPrice(1600e8);
        _setWbtcPrice(48_000e8);
        borrower = account;
        return 18_500e18;
    }
}

/// @notice The adapter's own work in a settle, measured with this test contract as the settlement.
abstract contract AdapterGasBase is MarketFixture {
    address internal receiver = address(0xE1EC);

    function _prepareAccount() internal virtual returns (uint256 repayAmount);

    function setUp() public {
        _deployMarket(address(new TestToken("Backstop USD", "bUSD")));
        vm.prank(marketAdmin);
        engine.setSettlement(address(this));
        TestToken(debtAsset).mint(address(this), 1_000_000e18);
        TestToken(debtAsset).approve(address(engine), type(uint256).max);
        weth.mint(receiver, 1);
        wbtc.mint(receiver, 1);
        repayAmount = _prepareAccount();
    }

    uint256 internal repayAmount;

    function _measure(string memory prefix) internal {
        engine.maxRepay(borrower);
        vm.snapshotGasLastCall(string.concat(prefix, ": maxRepay"));
        engine.liquidate(borrower, repayAmount, receiver);
        vm.snapshotGasLastCall(string.concat(prefix, ": liquidate"));
    }
}

contract AdapterGasOneCollateralTest is AdapterGasBase {
    function _prepareAccount() internal override returns (uint256) {
        _openUnhealthyPosition(borrower);
        return 7_500e18;
    }

    function test_gas_adapter_work_one_collateral() public {
        _measure("adapter, one collateral");
    }
}

contract AdapterGasTwoCollateralsTest is AdapterGasBase {
    function _prepareAccount() internal override returns (uint256) {
        _deposit(borrower, weth, 10e18);
        _openPosition(borrower, wbtc, 0.5e18, 37_000e18);
        _setWethPrice(1600e8);
        _setWbtcPrice(48_000e8);
        return 18_500e18;
    }

    function test_gas_adapter_work_two_collaterals() public {
        _measure("adapter, two collaterals");
    }
}
