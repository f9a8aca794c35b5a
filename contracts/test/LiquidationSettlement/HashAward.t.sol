// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";

/// @notice Pins the ids and EIP-712 hashing that off-chain code reproduces byte for byte.
contract HashAwardTest is SettlementHelper {
    function test_domainSeparator_is_eip712_backstop_v1() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Backstop"),
                keccak256("1"),
                block.chainid,
                address(settlement)
            )
        );
        assertEq(settlement.domainSeparator(), expected, "domain separator");
    }

    function test_domainSeparator_follows_chain_id_after_a_fork() public {
        bytes32 before = settlement.domainSeparator();
        vm.chainId(block.chainid + 1);
        assertTrue(settlement.domainSeparator() != before, "a fork gets a new domain");
    }

    function test_hashAward_is_eip712_typed_data_digest() public view {
        LiquidationSettlement.Award memory award = _award(REPAY, PREMIUM);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Award(bytes32 intentId,bytes32 marketId,address account,uint256 nonce,address executor,uint256 repayAmount,uint256 premium,uint256 deadline)"
                ),
                award.intentId,
                award.marketId,
                award.account,
                award.nonce,
                award.executor,
                award.repayAmount,
                award.premium,
                award.deadline
            )
        );
        bytes32 expected = keccak256(abi.encodePacked("\x19\x01", settlement.domainSeparator(), structHash));
        assertEq(settlement.hashAward(award), expected, "award digest");
    }

    function test_intentIdOf_binds_chain_settlement_market_account_and_nonce() public view {
        assertEq(
            settlement.intentIdOf(marketId, borrower, 7),
            keccak256(abi.encode(block.chainid, address(settlement), marketId, borrower, uint256(7))),
            "intent id derivation"
        );
    }

    function test_nonces_start_at_zero() public view {
        assertEq(settlement.nonces(marketId, borrower), 0, "fresh account");
    }
}
