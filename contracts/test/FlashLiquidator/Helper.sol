// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "../LiquidationSettlement/Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {FlashLiquidator} from "../../src/solvers/FlashLiquidator.sol";
import {IUniswapV2Factory, IUniswapV2Pair} from "../../src/solvers/IUniswapV2.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice The real Uniswap V2 factory and pair, deployed from `@uniswap/v2-core`'s published build
/// (never recompiled).
interface IUniswapV2FactoryFull is IUniswapV2Factory {
    function createPair(address tokenA, address tokenB) external returns (address pair);
}

interface IUniswapV2PairFull is IUniswapV2Pair {
    function mint(address to) external returns (uint256 liquidity);
}

/// @notice Base for FlashLiquidator tests: the settlement fixture (2-of-3 committee, MarginEngine
/// market, the standard unhealthy account: 10 WETH against 15,000 debt, WETH at 1600), the real
/// Uniswap V2 with WETH/bUSD and WBTC/bUSD pools seeded at the oracle prices, and a FlashLiquidator
/// owned by `solver`, which is the executor awards name.
abstract contract FlashLiquidatorHelper is SettlementHelper {
    string internal constant UNISWAP_BUILD = "node_modules/@uniswap/v2-core/build/";
    /// Pool depth: 500 WETH and 20 WBTC against their oracle value in bUSD.
    uint256 internal constant WETH_POOL_UNITS = 500e18;
    uint256 internal constant WBTC_POOL_UNITS = 20e18;

    address internal solver = address(0x5017E5);
    address internal liquidityProvider = address(0x11F);

    IUniswapV2FactoryFull internal factory;
    IUniswapV2PairFull internal wethPair;
    IUniswapV2PairFull internal wbtcPair;
    FlashLiquidator internal flash;

    function setUp() public virtual override {
        super.setUp();
        factory = IUniswapV2FactoryFull(_deployUniswap("UniswapV2Factory", abi.encode(address(0))));
        wethPair = _pool(weth, WETH_POOL_UNITS, 1600);
        wbtcPair = _pool(wbtc, WBTC_POOL_UNITS, 48_000);
        flash = new FlashLiquidator(solver, settlement, IUniswapV2Factory(address(factory)));
        executor = address(flash);
        vm.label(address(flash), "FlashLiquidator");
        vm.label(address(wethPair), "WETH/bUSD");
        vm.label(address(wbtcPair), "WBTC/bUSD");
    }

    function _deployUniswap(string memory name, bytes memory constructorArgs) internal returns (address deployed) {
        string memory artifact = vm.readFile(string.concat(UNISWAP_BUILD, name, ".json"));
        bytes memory code =
            bytes.concat(vm.parseBytes(string.concat("0x", vm.parseJsonString(artifact, ".evm.bytecode.object"))), constructorArgs);
        assembly {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        require(deployed != address(0), "Uniswap V2 artifact did not deploy");
    }

    /// @dev A pool of `units` of `asset` against `units * priceWhole` bUSD.
    function _pool(TestToken asset, uint256 units, uint256 priceWhole) internal returns (IUniswapV2PairFull pair) {
        pair = IUniswapV2PairFull(factory.createPair(address(asset), debtAsset));
        asset.mint(address(pair), units);
        TestToken(debtAsset).mint(address(pair), units * priceWhole);
        pair.mint(liquidityProvider);
    }

    /// @dev Debt asset out of `pair` for `amountIn` of `asset` at its current reserves.
    function _quote(IUniswapV2PairFull pair, address asset, uint256 amountIn) internal view returns (uint256) {
        (uint112 reserve0, uint112 reserve1,) = pair.getReserves();
        (uint256 reserveIn, uint256 reserveOut) = pair.token0() == asset ? (reserve0, reserve1) : (reserve1, reserve0);
        return flash.getAmountOut(amountIn, reserveIn, reserveOut);
    }

    /// @dev WETH the standard award seizes: repay x 1.05 at 1600 (exact here).
    function _seizedWeth(uint256 repayAmount) internal pure returns (uint256) {
        return repayAmount * 105 / 100 * 1e18 / 1600e18;
    }

    function _liquidate(
        LiquidationSettlement.Award memory award,
        address pair,
        uint256 borrowAmount,
        uint256 minProfit
    ) internal returns (uint256 profit) {
        bytes[] memory signatures = _signatures(award, 2);
        vm.prank(solver);
        return flash.liquidate(award, signatures, pair, borrowAmount, minProfit);
    }

    function _assertNothingLeftBehind() internal view {
        assertEq(_balanceOf(debtAsset, address(flash)), 0, "no debt asset left in the liquidator");
        assertEq(_balanceOf(address(weth), address(flash)), 0, "no WETH left in the liquidator");
        assertEq(_balanceOf(address(wbtc), address(flash)), 0, "no WBTC left in the liquidator");
        assertEq(TestToken(debtAsset).allowance(address(flash), address(settlement)), 0, "no allowance left");
    }
}
