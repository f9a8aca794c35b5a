// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarketFixture} from "../base/MarketFixture.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice Base for MarginEngine tests. The test contract itself is the engine's settlement, so
/// liquidation rules are tested without the committee machinery.
abstract contract EngineHelper is MarketFixture {
    address internal receiver = address(0xCAFE);

    function setUp() public virtual {
        _deployMarket(address(new TestToken("Backstop USD", "bUSD")));
        vm.prank(marketAdmin);
        engine.setSettlement(address(this));
        TestToken(debtAsset).mint(address(this), type(uint128).max);
        TestToken(debtAsset).approve(address(engine), type(uint256).max);
    }
}
