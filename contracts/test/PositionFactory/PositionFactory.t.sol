// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarketFixture} from "../base/MarketFixture.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";
import {PositionFactory} from "../../src/mocks/PositionFactory.sol";

contract PositionFactoryTest is MarketFixture {
    PositionFactory internal factory;

    function setUp() public {
        _deployMarket(address(new TestToken("USD", "USD")));
        factory = new PositionFactory();
    }

    function test_opensAccountsWithTheirDepositsAndDebt() public {
        address[] memory assets = _pair(address(weth), address(wbtc));
        uint256[] memory amounts = new uint256[](6);
        uint256[] memory debts = new uint256[](3);
        (amounts[0], amounts[1], debts[0]) = (1e18, 0, 1000e18);
        (amounts[2], amounts[3], debts[1]) = (0, 0.1e18, 3000e18);
        (amounts[4], amounts[5], debts[2]) = (2e18, 0.05e18, 0);
        address[] memory accounts = factory.open(engine, assets, amounts, debts);
        assertEq(accounts.length, 3, "one account per debt");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(engine.debtOf(accounts[i]), debts[i], "debt");
            assertEq(engine.collateralOf(accounts[i], address(weth)), amounts[2 * i], "weth");
            assertEq(engine.collateralOf(accounts[i], address(wbtc)), amounts[2 * i + 1], "wbtc");
        }
        assertFalse(engine.isLiquidatable(accounts[0]), "opened above initial margin");
    }

    function test_aRowThatBreaksInitialMarginRevertsTheBatch() public {
        address[] memory assets = _pair(address(weth), address(wbtc));
        uint256[] memory amounts = new uint256[](2);
        uint256[] memory debts = new uint256[](1);
        (amounts[0], debts[0]) = (1e18, 1900e18);
        (bool ok,) = address(factory).call(abi.encodeCall(PositionFactory.open, (engine, assets, amounts, debts)));
        assertFalse(ok, "the engine's own checks apply");
    }
}
