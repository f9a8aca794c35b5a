// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {MorphoHelper} from "./Helper.sol";
import {MorphoPreLiquidation} from "../../src/morpho/MorphoPreLiquidation.sol";
import {MorphoOracleMock} from "../../src/morpho/mocks/MorphoOracleMock.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";
import {IMorpho, MarketParams} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";
import {MorphoBalancesLib} from "@morpho-org/morpho-blue/src/libraries/periphery/MorphoBalancesLib.sol";

/// @notice Stands in for the settlement and drives the market at random: prices, time, pre-liquidations
/// of any size, Morpho liquidations beyond LLTV, borrower repays. Records what must never happen.
contract MorphoHandler is Test {
    using MorphoBalancesLib for IMorpho;

    IMorpho internal immutable morpho;
    MorphoOracleMock internal immutable oracle;
    TestToken internal immutable loanToken;
    MarketParams internal marketParams;
    MorphoPreLiquidation internal adapter;
    address[] public accounts;
    address internal constant RECEIVER = address(0x5EC);
    address internal constant KEEPER = address(0x4EE9);

    uint256 public preLiquidations;
    uint256 public ltvRaised;
    uint256 public repayLeftBehind;
    mapping(address account => uint256) public preLiquidationsOf;

    constructor(IMorpho morpho_, MarketParams memory marketParams_, address[] memory accounts_) {
        morpho = morpho_;
        marketParams = marketParams_;
        oracle = MorphoOracleMock(marketParams_.oracle);
        loanToken = TestToken(marketParams_.loanToken);
        accounts = accounts_;
    }

    /// @dev Once, by the test's setUp (the fuzzer may call it too; later calls change nothing).
    function setAdapter(MorphoPreLiquidation adapter_) external {
        if (address(adapter) != address(0)) return;
        adapter = adapter_;
        loanToken.approve(address(adapter_), type(uint256).max);
    }

    function movePrice(uint256 priceSeed) external {
        oracle.setPrice(bound(priceSeed, 1_300e36, 2_300e36));
    }

    function elapse(uint256 secondsSeed) external {
        vm.warp(block.timestamp + bound(secondsSeed, 1, 10 days));
    }

    /// @dev Three times in four it first moves the price so the account's LTV lands in the band, so
    /// pre-liquidations happen often; otherwise it tries at whatever price the market is at.
    function preLiquidate(uint256 accountSeed, uint256 ltvSeed, uint256 repaySeed) external {
        address account = accounts[accountSeed % accounts.length];
        if (ltvSeed % 4 != 0) _moveIntoBand(account, ltvSeed);
        uint256 maxRepayAmount = adapter.maxRepay(account);
        uint256 repayAmount = bound(repaySeed, 1, maxRepayAmount == 0 ? 1_000e18 : maxRepayAmount);
        uint256 ltvBefore = _ltv(account);
        loanToken.mint(address(this), repayAmount);
        uint256 balanceBefore = loanToken.balanceOf(address(this));
        try adapter.liquidate(account, repayAmount, RECEIVER) {
            ++preLiquidations;
            ++preLiquidationsOf[account];
            if (_ltv(account) > ltvBefore) ++ltvRaised;
            if (loanToken.balanceOf(address(this)) != balanceBefore - repayAmount) ++repayLeftBehind;
        } catch {} // outside the band, too large, dust: refused, and the minted repay simply stays here
    }

    function morphoLiquidate(uint256 accountSeed, uint256 seizeSeed) external {
        address account = accounts[accountSeed % accounts.length];
        uint256 collateral = morpho.position(adapter.morphoMarketId(), account).collateral;
        if (collateral == 0) return;
        loanToken.mint(KEEPER, 1_000_000e18);
        vm.startPrank(KEEPER);
        loanToken.approve(address(morpho), type(uint256).max);
        try morpho.liquidate(marketParams, account, bound(seizeSeed, 1, collateral), 0, "") {} catch {}
        vm.stopPrank();
    }

    function repay(uint256 accountSeed, uint256 amountSeed) external {
        address account = accounts[accountSeed % accounts.length];
        uint256 debt = morpho.expectedBorrowAssets(marketParams, account);
        if (debt < 2) return;
        uint256 amount = bound(amountSeed, 1, debt / 2);
        loanToken.mint(account, amount);
        vm.startPrank(account);
        loanToken.approve(address(morpho), amount);
        try morpho.repay(marketParams, amount, 0, account, "") {} catch {}
        vm.stopPrank();
    }

    function _moveIntoBand(address account, uint256 ltvSeed) internal {
        uint256 collateral = morpho.position(adapter.morphoMarketId(), account).collateral;
        uint256 borrowed = morpho.expectedBorrowAssets(marketParams, account);
        if (collateral == 0 || borrowed == 0) return;
        uint256 ltv = bound(ltvSeed, adapter.preLltv() + 1e12, marketParams.lltv - 1e12);
        uint256 collateralPrice = borrowed * 1e18 / ltv * 1e36 / collateral;
        if (collateralPrice > 0) oracle.setPrice(collateralPrice);
    }

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    function _ltv(address account) internal view returns (uint256) {
        uint256 quoted = uint256(morpho.position(adapter.morphoMarketId(), account).collateral) * oracle.price() / 1e36;
        uint256 borrowed = morpho.expectedBorrowAssets(marketParams, account);
        if (borrowed == 0) return 0;
        if (quoted == 0) return type(uint256).max;
        return (borrowed * 1e18 + quoted - 1) / quoted;
    }
}

/// @notice What must hold whatever happens on the market: the adapter and its caller keep no funds, no
/// pre-liquidation raises an LTV, a borrower who did not opt in is never pre-liquidated, and the views
/// agree with each other.
contract MorphoInvariantsTest is MorphoHelper {
    MorphoHandler internal handler;
    address internal optedOut = address(0x0FF);
    address internal secondBorrower = address(0xB0B2);

    function setUp() public override {
        _deployMorpho();
        address[] memory accounts = new address[](3);
        accounts[0] = borrower;
        accounts[1] = secondBorrower;
        accounts[2] = optedOut;
        handler = new MorphoHandler(morpho, marketParams, accounts);
        adapter = new MorphoPreLiquidation(marketAdmin, morpho, id, address(handler), _defaultParams());
        handler.setAdapter(adapter);
        _openPosition(borrower, COLLATERAL, DEBT, true);
        _openPosition(secondBorrower, 3e18, 3_000e18, true);
        _openPosition(optedOut, COLLATERAL, DEBT, false);
        targetContract(address(handler));
    }

    function invariant_no_funds_stay_in_the_adapter() public view {
        assertEq(loanToken.balanceOf(address(adapter)), 0, "no loan token in the adapter");
        assertEq(collateralToken.balanceOf(address(adapter)), 0, "no collateral in the adapter");
        assertEq(handler.repayLeftBehind(), 0, "every liquidation took exactly the repay");
    }

    function invariant_no_pre_liquidation_raises_the_ltv() public view {
        assertEq(handler.ltvRaised(), 0, "LTV never rose");
    }

    function invariant_a_borrower_who_did_not_opt_in_is_never_pre_liquidated() public view {
        assertEq(handler.preLiquidationsOf(optedOut), 0, "never pre-liquidated");
        assertFalse(adapter.isLiquidatable(optedOut), "never liquidatable here");
    }

    function invariant_views_agree() public view {
        for (uint256 i = 0; i < handler.accountCount(); ++i) {
            address account = handler.accounts(i);
            (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.accountHealth(account);
            bool liquidatable = adapter.isLiquidatable(account);
            assertEq(debtValue > 0 && collateralValue < requirement, liquidatable, "accountHealth rule");
            assertEq(adapter.maxRepay(account) > 0, liquidatable, "maxRepay > 0 iff liquidatable");
            MorphoPreLiquidation.Status memory status = adapter.status(account);
            if (liquidatable) {
                assertTrue(status.authorized, "only opted-in accounts");
                assertEq(uint256(status.band), uint256(MorphoPreLiquidation.Band.PreLiquidation), "only in the band");
            }
            (,, uint256 openRequirement) = adapter.openLiquidationHealth(account);
            assertEq(openRequirement, 0, "the open path never opens");
        }
    }
}
