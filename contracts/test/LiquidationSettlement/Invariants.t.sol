// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";

/// @notice Drives prices and committee-signed settlements in random order for the invariant run.
contract SettlementHandler is Test {
    LiquidationSettlement internal immutable settlement;
    MarginEngine internal immutable engine;
    MockPriceFeed internal immutable feed;
    bytes32 internal immutable marketId;
    address internal immutable executor;
    uint256[] internal attesterKeys;
    address[] public accounts;

    mapping(address => uint256) public settledCount;
    uint256 public settlements;

    constructor(
        LiquidationSettlement settlement_,
        MarginEngine engine_,
        MockPriceFeed feed_,
        bytes32 marketId_,
        address executor_,
        uint256[] memory attesterKeys_,
        address[] memory accounts_
    ) {
        settlement = settlement_;
        engine = engine_;
        feed = feed_;
        marketId = marketId_;
        executor = executor_;
        attesterKeys = attesterKeys_;
        accounts = accounts_;
    }

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    function setPrice(uint256 priceSeed) external {
        feed.setPrice(int256(bound(priceSeed, 500e8, 2_500e8)));
    }

    function settle(uint256 accountSeed, uint256 repaySeed, uint256 premiumSeed) external {
        address account = accounts[accountSeed % accounts.length];
        if (!engine.isLiquidatable(account)) return;
        uint256 repayAmount = bound(repaySeed, 1, engine.maxRepay(account));
        uint256 nonce = settlement.nonces(marketId, account);
        LiquidationSettlement.Award memory award = LiquidationSettlement.Award({
            intentId: settlement.intentIdOf(marketId, account, nonce),
            marketId: marketId,
            account: account,
            nonce: nonce,
            executor: executor,
            repayAmount: repayAmount,
            premium: bound(premiumSeed, 10e18, 1_000e18),
            deadline: block.timestamp
        });
        bytes32 digest = settlement.hashAward(award);
        bytes[] memory signatures = new bytes[](2);
        for (uint256 i = 0; i < 2; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(attesterKeys[i], digest);
            signatures[i] = abi.encodePacked(r, s, v);
        }
        vm.prank(executor);
        settlement.settle(award, signatures);
        settledCount[account] += 1;
        settlements += 1;
    }
}

/// @notice What must hold after any sequence of price moves and settlements.
contract SettlementInvariantTest is SettlementHelper {
    SettlementHandler internal handler;

    function setUp() public override {
        super.setUp(); // opens the standard unhealthy `borrower`
        feed.setPrice(2000e8);
        _openPosition(address(0xA1), 5e18, 7_000e18);
        _openPosition(address(0xA2), 20e18, 20_000e18);
        address[] memory accounts = new address[](3);
        accounts[0] = borrower;
        accounts[1] = address(0xA1);
        accounts[2] = address(0xA2);
        handler = new SettlementHandler(settlement, engine, feed, marketId, executor, attesterKeys, accounts);
        targetContract(address(handler));
    }

    function invariant_settlement_holds_no_tokens() public view {
        assertEq(_balanceOf(debtAsset, address(settlement)), 0, "no debt asset stuck");
        assertEq(collateralToken.balanceOf(address(settlement)), 0, "no collateral stuck");
    }

    function invariant_nonce_counts_settlements_of_each_account() public view {
        for (uint256 i = 0; i < handler.accountCount(); ++i) {
            address account = handler.accounts(i);
            assertEq(settlement.nonces(marketId, account), handler.settledCount(account), "nonce == settlements");
        }
    }

    function invariant_no_hidden_bad_debt() public view {
        uint256 totalDebt;
        for (uint256 i = 0; i < handler.accountCount(); ++i) {
            address account = handler.accounts(i);
            if (engine.collateralOf(account) == 0) assertEq(engine.debtOf(account), 0, "debt without collateral");
            totalDebt += engine.debtOf(account);
        }
        // Every unit lent is in the engine, still owed, or written off as bad debt.
        assertEq(
            _balanceOf(debtAsset, address(engine)) + totalDebt + engine.badDebt(), ENGINE_LIQUIDITY, "debt accounting"
        );
    }
}
