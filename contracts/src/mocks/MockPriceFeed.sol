// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/// @title MockPriceFeed
/// @notice A settable Chainlink-style feed. Devnet scenarios drive prices through it (a crash, a wick,
/// a stale feed); anyone may set it, so it exists only on test chains.
contract MockPriceFeed is AggregatorV3Interface {
    event PriceSet(uint80 indexed roundId, int256 answer, uint256 updatedAt);

    uint8 public immutable decimals;

    uint80 public roundId;
    int256 public answer;
    uint256 public updatedAt;

    constructor(uint8 decimals_, int256 initialAnswer) {
        decimals = decimals_;
        _set(initialAnswer);
    }

    function description() external pure returns (string memory) {
        return "Backstop mock feed";
    }

    function version() external pure returns (uint256) {
        return 1;
    }

    /// @notice Publishes a new round at the current block time.
    function setPrice(int256 newAnswer) external {
        _set(newAnswer);
    }

    /// @notice Back- or forward-dates the latest round without a new price, to simulate a stale feed.
    function setUpdatedAt(uint256 timestamp) external {
        updatedAt = timestamp;
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return (roundId, answer, updatedAt, updatedAt, roundId);
    }

    function _set(int256 newAnswer) private {
        roundId += 1;
        answer = newAnswer;
        updatedAt = block.timestamp;
        emit PriceSet(roundId, newAnswer, block.timestamp);
    }
}
