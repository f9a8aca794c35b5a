// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A Chainlink-style feed that misbehaves on demand, to prove the router treats every kind of
/// broken feed as down: it reverts, returns nothing, returns short data, returns an answer too large
/// to scale, burns all the gas it is given, or floods the caller with return data. `Honest` answers
/// like MockPriceFeed.
contract BrokenFeed {
    enum Mode {
        Honest,
        Revert,
        Empty,
        Short,
        Huge,
        BurnGas,
        ReturnBomb
    }

    uint8 public immutable decimals;
    Mode public mode;
    int256 public answer;
    uint256 public updatedAt;
    uint80 public roundId;

    constructor(uint8 decimals_, int256 initialAnswer) {
        decimals = decimals_;
        setPrice(initialAnswer);
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function setPrice(int256 newAnswer) public {
        roundId += 1;
        answer = newAnswer;
        updatedAt = block.timestamp;
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        Mode current = mode;
        if (current == Mode.Revert) revert("feed broken");
        if (current == Mode.Empty) {
            assembly {
                return(0, 0)
            }
        }
        if (current == Mode.Short) {
            // Three words instead of five: a decoder expecting the full tuple fails.
            uint256 round = roundId;
            int256 value = answer;
            assembly {
                mstore(0, round)
                mstore(32, value)
                mstore(64, round)
                return(0, 96)
            }
        }
        if (current == Mode.BurnGas) {
            uint256 spin;
            while (true) {
                spin += 1;
            }
        }
        if (current == Mode.ReturnBomb) {
            assembly {
                return(0, 1000000)
            }
        }
        if (current == Mode.Huge) return (roundId, type(int256).max, updatedAt, updatedAt, roundId);
        return (roundId, answer, updatedAt, updatedAt, roundId);
    }
}
