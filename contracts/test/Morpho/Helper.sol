// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {MorphoPreLiquidation} from "../../src/morpho/MorphoPreLiquidation.sol";
import {MorphoOracleMock} from "../../src/morpho/mocks/MorphoOracleMock.sol";
import {FixedRateIrm} from "../../src/morpho/mocks/FixedRateIrm.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";
import {Id, IMorpho, MarketParams, Position} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";
import {MarketParamsLib} from "@morpho-org/morpho-blue/src/libraries/MarketParamsLib.sol";
import {MorphoBalancesLib} from "@morpho-org/morpho-blue/src/libraries/periphery/MorphoBalancesLib.sol";

/// @notice Base for the Morpho Blue adapter tests: the *real* Morpho Blue (compiled from the npm package
/// with solc 0.8.19 into out-morpho/ by tools/build-morpho.js, deployed here from that artifact), one
/// market (18-decimal loan and collateral tokens, LLTV 80%, a settable oracle, a 10%-a-year fixed-rate
/// IRM, 1M of supplied liquidity), a LiquidationSettlement with a 2-of-3 committee, and the adapter
/// registered on it. Numbers: collateral at 2,000; the standard account holds 10 collateral and borrows
/// 14,000 (LTV 70% = preLltv, healthy); at 1,900 its LTV is 73.68%, inside the band (70%, 80%].
abstract contract MorphoHelper is Test {
    using MarketParamsLib for MarketParams;
    using MorphoBalancesLib for IMorpho;

    string internal constant MORPHO_ARTIFACT = "out-morpho/Morpho.json";

    uint256 internal constant LLTV = 0.8e18;
    uint256 internal constant PRE_LLTV = 0.7e18;
    uint256 internal constant PRE_LCF_1 = 0.2e18;
    uint256 internal constant PRE_LCF_2 = 0.8e18;
    uint256 internal constant PRE_LIF_1 = 1.02e18;
    uint256 internal constant PRE_LIF_2 = 1.05e18;
    uint256 internal constant RATE_PER_SECOND = 0.1e18 / uint256(365 days);
    /// @dev Morpho's oracle scale: loan units per collateral unit, times 1e36 (both tokens 18 decimals).
    uint256 internal constant INITIAL_PRICE = 2000e36;
    uint256 internal constant BAND_PRICE = 1900e36;
    uint256 internal constant COLLATERAL = 10e18;
    uint256 internal constant DEBT = 14_000e18;
    uint256 internal constant LIQUIDITY = 1_000_000e18;
    uint256 internal constant START_TIME = 1_700_000_000;

    uint256 internal constant RESERVE_PREMIUM = 10e18;
    uint256 internal constant PREMIUM = 100e18;
    uint256 internal constant AWARD_LIFETIME = 12; // seconds

    address internal morphoOwner = address(0x3040);
    address internal supplier = address(0x5AFE);
    address internal borrower = address(0xB0B);
    address internal marketAdmin = address(0xAD0);
    address internal owner = address(0x0E1);
    address internal beneficiary = address(0xBE1);
    address internal executor = address(0xE1EC);

    IMorpho internal morpho;
    TestToken internal loanToken;
    TestToken internal collateralToken;
    MorphoOracleMock internal oracle;
    FixedRateIrm internal irm;
    MarketParams internal marketParams;
    Id internal id;

    LiquidationSettlement internal settlement;
    MorphoPreLiquidation internal adapter;
    bytes32 internal marketId;
    uint256[] internal attesterKeys;

    function setUp() public virtual {
        _deployMorpho();
        _deploySettlement(3, 2);
        adapter = _deployAdapter(_defaultParams());
        marketId = _register(adapter);
    }

    // ---------------------------------------------------------------- deployment

    function _deployMorpho() internal {
        vm.warp(START_TIME);
        morpho = IMorpho(vm.deployCode(MORPHO_ARTIFACT, abi.encode(morphoOwner)));
        loanToken = new TestToken("Loan USD", "lUSD");
        collateralToken = new TestToken("Wrapped Ether", "WETH");
        oracle = new MorphoOracleMock(INITIAL_PRICE);
        irm = new FixedRateIrm(RATE_PER_SECOND);
        marketParams = MarketParams({
            loanToken: address(loanToken),
            collateralToken: address(collateralToken),
            oracle: address(oracle),
            irm: address(irm),
            lltv: LLTV
        });
        id = marketParams.id();
        vm.startPrank(morphoOwner);
        morpho.enableIrm(address(irm));
        morpho.enableLltv(LLTV);
        vm.stopPrank();
        morpho.createMarket(marketParams);
        _supply(supplier, LIQUIDITY);
        vm.label(address(morpho), "Morpho");
        vm.label(address(loanToken), "LoanToken");
        vm.label(address(collateralToken), "WETH");
    }

    function _deploySettlement(uint256 committeeSize, uint256 threshold) internal {
        delete attesterKeys;
        address[] memory attesterAddresses = new address[](committeeSize);
        for (uint256 i = 0; i < committeeSize; ++i) {
            attesterKeys.push(0xA11CE + i);
            attesterAddresses[i] = vm.addr(attesterKeys[i]);
        }
        settlement = new LiquidationSettlement(owner, attesterAddresses, threshold);
        vm.label(address(settlement), "LiquidationSettlement");
    }

    function _defaultParams() internal pure returns (MorphoPreLiquidation.PreLiquidationParams memory) {
        return MorphoPreLiquidation.PreLiquidationParams({
            preLltv: PRE_LLTV, preLCF1: PRE_LCF_1, preLCF2: PRE_LCF_2, preLIF1: PRE_LIF_1, preLIF2: PRE_LIF_2
        });
    }

    function _deployAdapter(MorphoPreLiquidation.PreLiquidationParams memory params)
        internal
        returns (MorphoPreLiquidation deployed)
    {
        deployed = new MorphoPreLiquidation(marketAdmin, morpho, id, address(settlement), params);
        vm.label(address(deployed), "MorphoPreLiquidation");
    }

    function _register(MorphoPreLiquidation adapter_) internal returns (bytes32 registeredId) {
        vm.prank(marketAdmin);
        registeredId = settlement.registerMarket(address(adapter_), beneficiary, RESERVE_PREMIUM);
    }

    // ---------------------------------------------------------------- Morpho positions

    function _supply(address account, uint256 assets) internal {
        loanToken.mint(account, assets);
        vm.startPrank(account);
        loanToken.approve(address(morpho), assets);
        morpho.supply(marketParams, assets, 0, account, "");
        vm.stopPrank();
    }

    /// @dev Supplies `collateral`, borrows `debt` and, if `optIn`, authorizes `adapter` on Morpho.
    function _openPosition(address account, uint256 collateral, uint256 debt, bool optIn) internal {
        collateralToken.mint(account, collateral);
        vm.startPrank(account);
        collateralToken.approve(address(morpho), collateral);
        morpho.supplyCollateral(marketParams, collateral, account, "");
        if (debt > 0) morpho.borrow(marketParams, debt, 0, account, account);
        if (optIn) morpho.setAuthorization(address(adapter), true);
        vm.stopPrank();
    }

    /// @dev The standard account, opted in and moved into the band (LTV 73.68%).
    function _openBandPosition() internal {
        _openPosition(borrower, COLLATERAL, DEBT, true);
        oracle.setPrice(BAND_PRICE);
    }

    /// @dev The oracle price at which `collateral` is worth `debt / ltv` (rounded so the LTV is at least `ltv`).
    function _priceForLtv(uint256 collateral, uint256 debt, uint256 ltv) internal pure returns (uint256) {
        return debt * 1e18 / ltv * 1e36 / collateral;
    }

    function _borrowShares(address account) internal view returns (uint256) {
        return morpho.position(id, account).borrowShares;
    }

    function _collateralOf(address account) internal view returns (uint256) {
        return morpho.position(id, account).collateral;
    }

    /// @dev Morpho's own view of the debt with interest accrued to now (rounded up).
    function _borrowed(address account) internal view returns (uint256) {
        return morpho.expectedBorrowAssets(marketParams, account);
    }

    /// @dev LTV as Morpho rounds it (borrowed up over the quoted collateral down), WAD.
    function _ltv(address account) internal view returns (uint256) {
        uint256 quoted = _collateralOf(account) * oracle.price() / 1e36;
        return (_borrowed(account) * 1e18 + quoted - 1) / quoted;
    }

    // ---------------------------------------------------------------- awards

    function _fundExecutor(uint256 amount) internal {
        loanToken.mint(executor, amount);
        vm.prank(executor);
        loanToken.approve(address(settlement), type(uint256).max);
    }

    function _award(bytes32 marketId_, address account, uint256 repayAmount, uint256 premium)
        internal
        view
        returns (LiquidationSettlement.Award memory)
    {
        uint256 nonce = settlement.nonces(marketId_, account);
        return LiquidationSettlement.Award({
            intentId: settlement.intentIdOf(marketId_, account, nonce),
            marketId: marketId_,
            account: account,
            nonce: nonce,
            executor: executor,
            repayAmount: repayAmount,
            premium: premium,
            deadline: block.timestamp + AWARD_LIFETIME
        });
    }

    /// @dev Signatures of the first `count` committee members, as committee nodes produce them.
    function _signatures(LiquidationSettlement.Award memory award, uint256 count)
        internal
        view
        returns (bytes[] memory signatures)
    {
        bytes32 digest = settlement.hashAward(award);
        signatures = new bytes[](count);
        for (uint256 i = 0; i < count; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(attesterKeys[i], digest);
            signatures[i] = abi.encodePacked(r, s, v);
        }
    }

    function _settle(LiquidationSettlement.Award memory award) internal returns (uint256 seizedValue) {
        bytes[] memory signatures = _signatures(award, settlement.threshold());
        vm.prank(executor);
        return settlement.settle(award, signatures);
    }

    /// @dev Gives the settlement `repayAmount` and approves it to the adapter, as `settle` does before
    /// calling `liquidate`.
    function _fundSettlement(uint256 repayAmount) internal {
        loanToken.mint(address(settlement), repayAmount);
        vm.prank(address(settlement));
        loanToken.approve(address(adapter), repayAmount);
    }

    /// @dev Calls the adapter as the settlement does (the settlement's own checks are not part of it).
    function _liquidateAsSettlement(address account, uint256 repayAmount, address receiver)
        internal
        returns (uint256 seizedValue)
    {
        _fundSettlement(repayAmount);
        vm.prank(address(settlement));
        seizedValue = adapter.liquidate(account, repayAmount, receiver);
    }

    function _expectLiquidateRevert(bytes memory reason, address account, uint256 repayAmount, address receiver)
        internal
    {
        _fundSettlement(repayAmount);
        vm.expectRevert(reason);
        vm.prank(address(settlement));
        adapter.liquidate(account, repayAmount, receiver);
    }
}
