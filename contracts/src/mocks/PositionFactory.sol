// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarginEngine} from "../MarginEngine.sol";

interface IMintable {
    function mint(address to, uint256 amount) external;
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @title DevnetAccount
/// @notice One margin account the devnet opens in bulk: a contract that mints its collateral
/// (devnet TestTokens), deposits it and borrows, all in its constructor. To the engine it is an
/// ordinary account (positions are keyed by msg.sender); it emits the usual events.
/// @dev Devnet and benchmark tooling only: it relies on permissionless TestToken minting.
contract DevnetAccount {
    constructor(MarginEngine engine, address[] memory assets, uint256[] memory amounts, uint256 debt) {
        for (uint256 i = 0; i < assets.length; ++i) {
            if (amounts[i] == 0) continue;
            IMintable(assets[i]).mint(address(this), amounts[i]);
            IMintable(assets[i]).approve(address(engine), amounts[i]);
            engine.deposit(assets[i], amounts[i]);
        }
        if (debt > 0) engine.borrow(debt);
    }
}

/// @title PositionFactory
/// @notice Opens many devnet accounts in one transaction (thousands per block on an anvil chain
/// with a raised gas limit), so a population of 10,000 accounts takes seconds, not hours.
contract PositionFactory {
    event AccountOpened(address indexed account, uint256 debt);

    /// @param amounts Row-major: `amounts[i * assets.length + j]` is account i's deposit of asset j.
    function open(MarginEngine engine, address[] calldata assets, uint256[] calldata amounts, uint256[] calldata debts)
        external
        returns (address[] memory accounts)
    {
        uint256 width = assets.length;
        require(amounts.length == debts.length * width, "shape");
        accounts = new address[](debts.length);
        uint256[] memory row = new uint256[](width);
        for (uint256 i = 0; i < debts.length; ++i) {
            for (uint256 j = 0; j < width; ++j) {
                row[j] = amounts[i * width + j];
            }
            address account = address(new DevnetAccount(engine, assets, row, debts[i]));
            accounts[i] = account;
            emit AccountOpened(account, debts[i]);
        }
    }
}
