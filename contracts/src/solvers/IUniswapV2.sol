// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The parts of Uniswap V2 (`@uniswap/v2-core` 1.0.1, deployed from its npm artifacts, never
/// recompiled) that the flash liquidator calls. Declared here because v2-core's own interfaces pin
/// `pragma solidity >=0.5.0` with 0.5-era syntax we do not import.
interface IUniswapV2Factory {
    function getPair(address tokenA, address tokenB) external view returns (address pair);
}

interface IUniswapV2Pair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

/// @notice What a Uniswap V2 pair calls on the `to` of a swap with non-empty `data` (a flash swap).
interface IUniswapV2Callee {
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external;
}
