// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FlashLiquidatorHelper, IUniswapV2PairFull} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {FlashLiquidator} from "../../src/solvers/FlashLiquidator.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";
import {IUniswapV2Factory} from "../../src/solvers/IUniswapV2.sol";

/// @notice `FlashLiquidator.liquidate` against the real Uniswap V2 bytecode, the real settlement and
/// MarginEngine.
contract FlashLiquidatorLiquidateTest is FlashLiquidatorHelper {
    function test_liquidate_settles_through_the_pool_and_pays_the_owner_in_debt_asset() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        // Borrow what the seized WETH sells for: the collateral pays the flash pair back in full.
        uint256 borrowAmount = _quote(wethPair, address(weth), _seizedWeth(REPAY));
        uint256 beneficiaryBefore = _balanceOf(debtAsset, beneficiary);

        uint256 profit = _liquidate(award, address(wethPair), borrowAmount, 1);

        // 7,875 of WETH sold into a 500-WETH pool (fee and ~1% impact) less 7,600 repay + premium.
        assertGt(profit, 150e18, "the bonus net of slippage is profit");
        assertLt(profit, borrowAmount - REPAY - PREMIUM + 1, "no more than the borrowed surplus");
        assertEq(_balanceOf(debtAsset, solver), profit, "profit paid to the owner in the debt asset");
        assertEq(_balanceOf(debtAsset, beneficiary) - beneficiaryBefore, PREMIUM, "premium paid to the protocol");
        assertEq(settlement.nonces(marketId, borrower), award.nonce + 1, "the award is spent");
        _assertNothingLeftBehind();
    }

    function test_liquidate_borrowing_only_the_cost_returns_the_spare_collateral_to_the_owner() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        uint256 profit = _liquidate(award, address(wethPair), REPAY + PREMIUM, 0);
        assertEq(profit, 0, "nothing borrowed beyond the cost");
        uint256 spare = _balanceOf(address(weth), solver);
        assertGt(spare, 0, "seized WETH beyond the flash repayment goes to the owner in kind");
        assertLt(spare, _seizedWeth(REPAY), "most of it repaid the pair");
        _assertNothingLeftBehind();
    }

    function test_liquidate_tops_up_in_debt_asset_when_the_seized_collateral_falls_short() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        // Borrow more than the seized WETH buys: the surplus debt pays the rest of the flash swap.
        uint256 borrowAmount = _quote(wethPair, address(weth), _seizedWeth(REPAY)) + 50e18;
        uint256 profit = _liquidate(award, address(wethPair), borrowAmount, 0);
        assertGt(profit, 0, "still profitable");
        assertEq(_balanceOf(address(weth), solver), 0, "every seized WETH went to the pair");
        _assertNothingLeftBehind();
    }

    function test_liquidate_sells_every_seized_collateral_of_a_multi_collateral_account() public {
        _openTwoCollateralAccount(address(0xA2));
        LiquidationSettlement.Award memory award = _award(18_500e18, PREMIUM);
        uint256 seizedValue = engine.previewSeize(borrower, award.repayAmount);
        // Flash-swap against WETH for the cost only: the seized WBTC, sold through its own pair, pays
        // for whatever the seized WETH does not cover.
        uint256 profit = _liquidate(award, address(wethPair), award.repayAmount + award.premium, 1);
        assertGt(profit, 0, "profitable across both pools");
        assertLt(profit, seizedValue - award.repayAmount - award.premium, "slippage and fees are paid");
        assertEq(_balanceOf(debtAsset, solver), profit, "profit in the debt asset");
        assertEq(_balanceOf(address(wbtc), solver), 0, "WBTC was sold, not handed over");
        _assertNothingLeftBehind();
    }

    function test_liquidate_reverts_below_min_profit() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        uint256 borrowAmount = _quote(wethPair, address(weth), _seizedWeth(REPAY));
        uint256 snapshot = vm.snapshotState();
        uint256 profit = _liquidate(award, address(wethPair), borrowAmount, 0);
        vm.revertToState(snapshot);

        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(abi.encodeWithSelector(FlashLiquidator.Unprofitable.selector, profit, profit + 1));
        vm.prank(solver);
        flash.liquidate(award, signatures, address(wethPair), borrowAmount, profit + 1);
        assertEq(settlement.nonces(marketId, borrower), award.nonce, "nothing settled");
    }

    function test_liquidate_reverts_when_a_thin_pool_cannot_repay_the_flash_swap() public {
        // 5 WETH of depth: the seized ~4.9 WETH buys far less than the 7,600 the settle costs.
        IUniswapV2PairFull thin = _thinPool();
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        // All the seized WETH goes in; the rest would have to be debt asset the liquidator does not hold.
        assertGt(flash.debtToComplete(5e18, 8_000e18, REPAY + PREMIUM, _seizedWeth(REPAY)), 3_000e18, "far too thin");
        vm.expectPartialRevert(FlashLiquidator.CannotRepayFlash.selector);
        vm.prank(solver);
        flash.liquidate(award, signatures, address(thin), REPAY + PREMIUM, 0);
        assertEq(settlement.nonces(marketId, borrower), award.nonce, "nothing settled");
    }

    function test_liquidate_only_the_owner_may_call() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(abi.encodeWithSelector(FlashLiquidator.NotOwner.selector, address(0xBAD)));
        vm.prank(address(0xBAD));
        flash.liquidate(award, signatures, address(wethPair), REPAY + PREMIUM, 0);
    }

    function test_liquidate_rejects_an_award_for_another_executor() public {
        executor = address(0xE1EC);
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(abi.encodeWithSelector(FlashLiquidator.NotExecutor.selector, address(0xE1EC)));
        vm.prank(solver);
        flash.liquidate(award, signatures, address(wethPair), REPAY + PREMIUM, 0);
    }

    function test_liquidate_rejects_a_borrow_below_the_cost() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        vm.expectRevert(
            abi.encodeWithSelector(FlashLiquidator.BorrowBelowCost.selector, REPAY + PREMIUM - 1, REPAY + PREMIUM)
        );
        vm.prank(solver);
        flash.liquidate(award, signatures, address(wethPair), REPAY + PREMIUM - 1, 0);
    }

    function test_liquidate_rejects_a_pair_the_factory_did_not_create() public {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes[] memory signatures = _signatures(award, 2);
        // A pair of the right tokens from another factory.
        address otherFactory = _deployUniswap("UniswapV2Factory", abi.encode(address(0)));
        (bool ok, bytes memory returned) =
            otherFactory.call(abi.encodeWithSignature("createPair(address,address)", address(weth), debtAsset));
        require(ok, "createPair");
        address foreign = abi.decode(returned, (address));
        vm.expectRevert(abi.encodeWithSelector(FlashLiquidator.NotFactoryPair.selector, foreign));
        vm.prank(solver);
        flash.liquidate(award, signatures, foreign, REPAY + PREMIUM, 0);
    }

    function test_uniswapV2Call_rejects_a_forged_callback() public {
        bytes memory data = abi.encode(uint256(1));
        // A stranger.
        vm.expectRevert(abi.encodeWithSelector(FlashLiquidator.UnexpectedCallback.selector, address(0xBAD), address(flash)));
        vm.prank(address(0xBAD));
        flash.uniswapV2Call(address(flash), 1, 0, data);
        // The real pair, outside a liquidation (someone else's swap naming us as `to`).
        vm.expectRevert(
            abi.encodeWithSelector(FlashLiquidator.UnexpectedCallback.selector, address(wethPair), address(0xBAD))
        );
        vm.prank(address(wethPair));
        flash.uniswapV2Call(address(0xBAD), 1, 0, data);
    }

    function test_sweep_and_registry_calls_are_owner_only() public {
        weth.mint(address(flash), 3);
        vm.expectRevert(abi.encodeWithSelector(FlashLiquidator.NotOwner.selector, address(this)));
        flash.sweep(address(weth));
        vm.prank(solver);
        assertEq(flash.sweep(address(weth)), 3, "swept");
        assertEq(_balanceOf(address(weth), solver), 3, "to the owner");
    }

    function _thinPool() internal returns (IUniswapV2PairFull) {
        // A factory holds one pair per token pair: a second factory's WETH/bUSD pool, 5 WETH deep,
        // and a liquidator bound to it.
        address thinFactory = _deployUniswap("UniswapV2Factory", abi.encode(address(0)));
        (bool ok, bytes memory returned) =
            thinFactory.call(abi.encodeWithSignature("createPair(address,address)", address(weth), debtAsset));
        require(ok, "createPair");
        IUniswapV2PairFull pair = IUniswapV2PairFull(abi.decode(returned, (address)));
        weth.mint(address(pair), 5e18);
        TestToken(debtAsset).mint(address(pair), 8_000e18);
        pair.mint(liquidityProvider);
        flash = new FlashLiquidator(solver, settlement, IUniswapV2Factory(thinFactory));
        executor = address(flash);
        return pair;
    }

    function _openTwoCollateralAccount(address account) internal {
        _setWethPrice(2000e8);
        _deposit(account, weth, 10e18);
        _openPosition(account, wbtc, 0.5e18, 37_000e18);
        _setWethPrice(1600e8);
        _setWbtcPrice(48_000e8);
        borrower = account;
    }
}
