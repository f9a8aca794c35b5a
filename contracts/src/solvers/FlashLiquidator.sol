// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LiquidationSettlement} from "../LiquidationSettlement.sol";
import {IMarginMarket} from "../interfaces/IMarginMarket.sol";
import {IERC20Minimal} from "../interfaces/IERC20Minimal.sol";
import {SafeTransferLib} from "../libraries/SafeTransferLib.sol";
import {IUniswapV2Callee, IUniswapV2Factory, IUniswapV2Pair} from "./IUniswapV2.sol";

/// @notice The subset of SolverRegistry the liquidator uses to bond its owner's solver key: the
/// registry binds a key to `msg.sender`, and the executor named in reveals is this contract.
interface ISolverRegistryBond {
    function register(bytes32 solverKey) external payable;
    function requestExit() external;
    function withdraw() external;
}

/// @title FlashLiquidator
/// @notice A solver's executor that needs no inventory of the debt asset. `liquidate` flash-swaps
/// `repay + premium` (or more) of the debt asset out of a Uniswap V2 collateral/debt pair, settles
/// the award with it (the award's executor is this contract), sells every other collateral the
/// liquidation seized through its own pair of the same factory, pays the flash pair back in its
/// collateral (topped up with debt asset when the seized collateral of that pair does not cover it:
/// the pair is locked during its callback, so it cannot be swapped in again), and sends what is
/// left in the debt asset to the owner. It reverts when that profit is below `minProfit`, so a
/// liquidation that does not pay is never mined.
/// @dev Holds nothing between calls: collateral without a pool of the factory, and collateral of the
/// flash pair beyond what repays it, go to the owner in kind; allowances are reset to zero. Only the
/// owner may call `liquidate`, and only the pair being flash-swapped, during that call, may call
/// `uniswapV2Call` (the expected pair lives in transient storage).
///
/// Repaying the flash pair (reserves r_c of its collateral, r_d of debt, `borrowAmount` = b out):
/// in collateral only, Uniswap's getAmountIn, `c = r_c b 1000 / ((r_d - b) 997) + 1`; with c' < c of
/// collateral, the debt d that satisfies the pair's fee-adjusted invariant
/// `(1000 r_c + 997 c') ((r_d - b) 1000 + 997 d) >= 1000^2 r_c r_d`, rounded up.
contract FlashLiquidator is IUniswapV2Callee {
    using SafeTransferLib for address;

    /// @notice The solver's EOA: the only caller of `liquidate`, and where profits go.
    address public immutable owner;
    /// @notice The chain's settlement contract.
    LiquidationSettlement public immutable settlement;
    /// @notice The Uniswap V2 factory whose pairs are flash-swapped and sold into.
    IUniswapV2Factory public immutable factory;

    /// @dev The pair a flash swap is in progress with (zero outside `liquidate`).
    address private transient expectedPair;

    event FlashLiquidated(
        bytes32 indexed intentId, address indexed pair, uint256 borrowAmount, uint256 profit, uint256 collateralReturned
    );

    error NotOwner(address caller);
    error NotExecutor(address executor);
    error UnknownMarket(bytes32 marketId);
    error NotFactoryPair(address pair);
    error BorrowBelowCost(uint256 borrowAmount, uint256 cost);
    error UnexpectedCallback(address caller, address sender);
    error CannotRepayFlash(uint256 debtNeeded, uint256 debtHeld);
    error Unprofitable(uint256 profit, uint256 minProfit);
    error NativeTransferFailed(uint256 amount);

    struct Flash {
        LiquidationSettlement.Award award;
        bytes[] signatures;
        address debtAsset;
        address collateral;
        address adapter;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor(address owner_, LiquidationSettlement settlement_, IUniswapV2Factory factory_) {
        owner = owner_;
        settlement = settlement_;
        factory = factory_;
    }

    /// @notice Settles `award` financed by a flash swap of `borrowAmount` debt asset out of `pair`
    /// (a pair of `factory` between the market's debt asset and one other token), and sends the
    /// profit in the debt asset to the owner.
    /// @param borrowAmount At least `award.repayAmount + award.premium`; borrowing what the seized
    /// collateral of the pair is worth in it turns that collateral into debt asset too.
    /// @param minProfit The smallest profit, in debt units, worth mining; below it the call reverts.
    /// @return profit Debt asset sent to the owner.
    function liquidate(
        LiquidationSettlement.Award calldata award,
        bytes[] calldata signatures,
        address pair,
        uint256 borrowAmount,
        uint256 minProfit
    ) external onlyOwner returns (uint256 profit) {
        if (award.executor != address(this)) revert NotExecutor(award.executor);
        (address adapter,,,,,, address debtAsset) = settlement.markets(award.marketId);
        if (adapter == address(0)) revert UnknownMarket(award.marketId);
        uint256 cost = award.repayAmount + award.premium;
        if (borrowAmount < cost) revert BorrowBelowCost(borrowAmount, cost);

        address collateral = _flashSwap(award, signatures, pair, borrowAmount, debtAsset, adapter);

        profit = IERC20Minimal(debtAsset).balanceOf(address(this));
        if (profit < minProfit) revert Unprofitable(profit, minProfit);
        if (profit > 0) debtAsset.safeTransfer(owner, profit);
        uint256 collateralReturned = _sweep(collateral);
        emit FlashLiquidated(award.intentId, pair, borrowAmount, profit, collateralReturned);
    }

    /// @inheritdoc IUniswapV2Callee
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external {
        address pair = expectedPair;
        if (pair == address(0) || msg.sender != pair || sender != address(this)) {
            revert UnexpectedCallback(msg.sender, sender);
        }
        Flash memory flash = abi.decode(data, (Flash));
        uint256 borrowed = amount0 + amount1; // exactly one is non-zero

        uint256 cost = flash.award.repayAmount + flash.award.premium;
        flash.debtAsset.safeApprove(address(settlement), cost);
        settlement.settle(flash.award, flash.signatures);
        flash.debtAsset.safeApprove(address(settlement), 0);

        address[] memory assets = IMarginMarket(flash.adapter).collateralAssets();
        for (uint256 i = 0; i < assets.length; ++i) {
            address asset = assets[i];
            if (asset == flash.collateral || asset == flash.debtAsset) continue;
            _sell(asset, flash.debtAsset);
        }
        _repayFlash(pair, flash.collateral, flash.debtAsset, borrowed);
    }

    // ---------------------------------------------------------------- solver registry (owner only)

    /// @notice Bonds the owner's solver key with this contract as executor (it is the address reveals name).
    function registerSolver(ISolverRegistryBond registry, bytes32 solverKey) external payable onlyOwner {
        registry.register{value: msg.value}(solverKey);
    }

    /// @notice Starts the registry's exit delay for this executor.
    function requestSolverExit(ISolverRegistryBond registry) external onlyOwner {
        registry.requestExit();
    }

    /// @notice Withdraws the bond after the exit delay and forwards it to the owner.
    function withdrawSolverBond(ISolverRegistryBond registry) external onlyOwner {
        registry.withdraw();
        uint256 amount = address(this).balance;
        (bool sent,) = owner.call{value: amount}("");
        if (!sent) revert NativeTransferFailed(amount);
    }

    /// @notice Sends any balance of `token` held here to the owner (tokens sent here by mistake).
    function sweep(address token) external onlyOwner returns (uint256 amount) {
        return _sweep(token);
    }

    /// @dev The registry pays a withdrawn bond to this contract.
    receive() external payable {}

    // ---------------------------------------------------------------- internals

    /// @dev Checks that `pair` is the factory's pair of `debtAsset` and another token, and flash-swaps
    /// `borrowAmount` of the debt asset out of it (the rest happens in `uniswapV2Call`).
    function _flashSwap(
        LiquidationSettlement.Award calldata award,
        bytes[] calldata signatures,
        address pair,
        uint256 borrowAmount,
        address debtAsset,
        address adapter
    ) private returns (address collateral) {
        address token0 = IUniswapV2Pair(pair).token0();
        address token1 = IUniswapV2Pair(pair).token1();
        bool debtIsToken0 = token0 == debtAsset;
        collateral = debtIsToken0 ? token1 : token0;
        if ((!debtIsToken0 && token1 != debtAsset) || factory.getPair(token0, token1) != pair) {
            revert NotFactoryPair(pair);
        }
        expectedPair = pair;
        bytes memory data = abi.encode(Flash(award, signatures, debtAsset, collateral, adapter));
        if (debtIsToken0) IUniswapV2Pair(pair).swap(borrowAmount, 0, address(this), data);
        else IUniswapV2Pair(pair).swap(0, borrowAmount, address(this), data);
        expectedPair = address(0);
    }

    /// @dev Sells all of `asset` held here for `debtAsset` through the factory's pair; without a pair
    /// (or a pool that would give nothing) the asset goes to the owner in kind.
    function _sell(address asset, address debtAsset) private {
        uint256 amountIn = IERC20Minimal(asset).balanceOf(address(this));
        if (amountIn == 0) return;
        address pair = factory.getPair(asset, debtAsset);
        if (pair == address(0)) {
            asset.safeTransfer(owner, amountIn);
            return;
        }
        (uint256 reserveIn, uint256 reserveOut, bool assetIsToken0) = _reserves(pair, asset);
        uint256 amountOut = getAmountOut(amountIn, reserveIn, reserveOut);
        if (amountOut == 0) {
            asset.safeTransfer(owner, amountIn);
            return;
        }
        asset.safeTransfer(pair, amountIn);
        (uint256 amount0Out, uint256 amount1Out) = assetIsToken0 ? (uint256(0), amountOut) : (amountOut, uint256(0));
        IUniswapV2Pair(pair).swap(amount0Out, amount1Out, address(this), "");
    }

    /// @dev Pays the flash pair back for `borrowed` debt asset: in its collateral, then debt asset for the rest.
    function _repayFlash(address pair, address collateral, address debtAsset, uint256 borrowed) private {
        // Inside the callback the pair's reserves are still those before the swap.
        (uint256 reserveCollateral, uint256 reserveDebt,) = _reserves(pair, collateral);
        uint256 collateralHeld = IERC20Minimal(collateral).balanceOf(address(this));
        uint256 collateralNeeded = getAmountIn(borrowed, reserveCollateral, reserveDebt);
        if (collateralHeld >= collateralNeeded) {
            collateral.safeTransfer(pair, collateralNeeded);
            return;
        }
        if (collateralHeld > 0) collateral.safeTransfer(pair, collateralHeld);
        uint256 debtNeeded = debtToComplete(reserveCollateral, reserveDebt, borrowed, collateralHeld);
        uint256 debtHeld = IERC20Minimal(debtAsset).balanceOf(address(this));
        if (debtHeld < debtNeeded) revert CannotRepayFlash(debtNeeded, debtHeld);
        debtAsset.safeTransfer(pair, debtNeeded);
    }

    function _reserves(address pair, address tokenIn)
        private
        view
        returns (uint256 reserveIn, uint256 reserveOut, bool tokenInIsToken0)
    {
        (uint112 reserve0, uint112 reserve1,) = IUniswapV2Pair(pair).getReserves();
        tokenInIsToken0 = IUniswapV2Pair(pair).token0() == tokenIn;
        (reserveIn, reserveOut) = tokenInIsToken0 ? (uint256(reserve0), uint256(reserve1)) : (reserve1, reserve0);
    }

    function _sweep(address token) private returns (uint256 amount) {
        amount = IERC20Minimal(token).balanceOf(address(this));
        if (amount > 0) token.safeTransfer(owner, amount);
    }

    // ---------------------------------------------------------------- Uniswap V2 math

    /// @notice Uniswap V2's getAmountOut (0.3% fee): output for `amountIn`, rounded down.
    function getAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        if (amountIn == 0 || reserveIn == 0 || reserveOut == 0) return 0;
        uint256 amountInWithFee = amountIn * 997;
        return (amountInWithFee * reserveOut) / (reserveIn * 1000 + amountInWithFee);
    }

    /// @notice Uniswap V2's getAmountIn (0.3% fee): input that buys `amountOut`, rounded up
    /// (reverts when `amountOut` is not below `reserveOut`).
    function getAmountIn(uint256 amountOut, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        return (reserveIn * amountOut * 1000) / ((reserveOut - amountOut) * 997) + 1;
    }

    /// @notice Debt asset that, with `collateralIn` of collateral, repays a flash swap of `borrowed`
    /// debt out of a pair with reserves (`reserveCollateral`, `reserveDebt`): the least d with
    /// `(1000 rc + 997 ci) ((rd - b) 1000 + 997 d) >= 1000^2 rc rd`.
    function debtToComplete(uint256 reserveCollateral, uint256 reserveDebt, uint256 borrowed, uint256 collateralIn)
        public
        pure
        returns (uint256)
    {
        uint256 adjustedCollateral = reserveCollateral * 1000 + collateralIn * 997;
        uint256 product = reserveCollateral * reserveDebt * 1_000_000; // reserves < 2^112: no overflow
        uint256 adjustedDebtNeeded = (product + adjustedCollateral - 1) / adjustedCollateral;
        uint256 adjustedDebtLeft = (reserveDebt - borrowed) * 1000;
        if (adjustedDebtNeeded <= adjustedDebtLeft) return 0;
        return (adjustedDebtNeeded - adjustedDebtLeft + 996) / 997;
    }
}
