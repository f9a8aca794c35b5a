// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {IOracle} from "@morpho-org/morpho-blue/src/interfaces/IOracle.sol";

/// @title MorphoOracleMock
/// @notice A settable Morpho Blue oracle (`IOracle`) for devnets and tests: devnet scenarios drive the
/// collateral price through it. Anyone may set it, so it exists only on test chains.
/// @dev Morpho's scale: the price of one collateral *unit* in loan-token *units*, times 1e36. For a
/// collateral with `cd` decimals worth `P` loan tokens (`ld` decimals) each: `P * 10^(36 + ld - cd)`.
contract MorphoOracleMock is IOracle {
    event PriceSet(uint256 price);

    uint256 public price;

    constructor(uint256 initialPrice) {
        price = initialPrice;
        emit PriceSet(initialPrice);
    }

    function setPrice(uint256 newPrice) external {
        price = newPrice;
        emit PriceSet(newPrice);
    }
}
