// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarketFixture} from "../base/MarketFixture.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";

/// @notice Base for LiquidationSettlement tests: a 2-of-3 committee, a registered MarginEngine market,
/// an unhealthy account, and helpers that build and sign awards the way committee nodes do.
abstract contract SettlementHelper is MarketFixture {
    uint256 internal constant RESERVE_PREMIUM = 10e18;
    uint256 internal constant REPAY = 7_500e18; // the close factor's maximum for the standard account
    uint256 internal constant PREMIUM = 100e18;
    uint256 internal constant AWARD_LIFETIME = 12; // seconds

    address internal owner = address(0x0E1);
    address internal beneficiary = address(0xBE1);
    address internal executor = address(0xE1EC);

    LiquidationSettlement internal settlement;
    bytes32 internal marketId;
    uint256[] internal attesterKeys;

    function setUp() public virtual {
        _deploy(address(new TestToken("Backstop USD", "bUSD")), 3, 2);
    }

    /// @dev Deploys market and settlement with a `committeeSize`-member committee and `threshold`,
    /// registers the market, and opens the standard unhealthy account.
    function _deploy(address debtToken, uint256 committeeSize, uint256 threshold) internal {
        _deployMarket(debtToken);
        delete attesterKeys;
        address[] memory attesterAddresses = new address[](committeeSize);
        for (uint256 i = 0; i < committeeSize; ++i) {
            attesterKeys.push(0xA11CE + i);
            attesterAddresses[i] = vm.addr(attesterKeys[i]);
        }
        settlement = new LiquidationSettlement(owner, attesterAddresses, threshold);
        vm.label(address(settlement), "LiquidationSettlement");

        vm.startPrank(marketAdmin);
        engine.setSettlement(address(settlement));
        marketId = settlement.registerMarket(address(engine), beneficiary, RESERVE_PREMIUM);
        vm.stopPrank();

        _openUnhealthyPosition(borrower);
        _fundExecutor(type(uint128).max);
    }

    function _fundExecutor(uint256 amount) internal {
        TestToken(debtAsset).mint(executor, amount);
        _approve(debtAsset, executor, address(settlement), type(uint256).max);
    }

    function _award(uint256 repayAmount, uint256 premium) internal view returns (LiquidationSettlement.Award memory) {
        uint256 nonce = settlement.nonces(marketId, borrower);
        return LiquidationSettlement.Award({
            intentId: settlement.intentIdOf(marketId, borrower, nonce),
            marketId: marketId,
            account: borrower,
            nonce: nonce,
            executor: executor,
            repayAmount: repayAmount,
            premium: premium,
            deadline: block.timestamp + AWARD_LIFETIME
        });
    }

    function _signature(uint256 privateKey, LiquidationSettlement.Award memory award)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, settlement.hashAward(award));
        return abi.encodePacked(r, s, v);
    }

    /// @dev Signatures of the first `count` committee members.
    function _signatures(LiquidationSettlement.Award memory award, uint256 count)
        internal
        view
        returns (bytes[] memory signatures)
    {
        signatures = new bytes[](count);
        for (uint256 i = 0; i < count; ++i) {
            signatures[i] = _signature(attesterKeys[i], award);
        }
    }

    function _settle(LiquidationSettlement.Award memory award, bytes[] memory signatures)
        internal
        returns (uint256 seizedValue)
    {
        vm.prank(executor);
        return settlement.settle(award, signatures);
    }
}
