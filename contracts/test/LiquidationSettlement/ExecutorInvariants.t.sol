// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {MockPriceFeed} from "../../src/mocks/MockPriceFeed.sol";
import {TestToken} from "../../src/mocks/TestToken.sol";
import {HostileAdapter} from "../mocks/HostileAdapter.sol";

/// @notice Drives an executor that serves an honest market and a hostile one (whose adapter switches
/// the debt asset it names and tries to drain every token it can reach), and accounts for what the
/// executor should have paid: exactly the repays and premiums, in each market's registered asset.
contract ExecutorHandler is Test {
    LiquidationSettlement internal immutable settlement;
    MarginEngine internal immutable engine;
    HostileAdapter internal immutable hostile;
    bytes32 internal immutable honestId;
    bytes32 internal immutable hostileId;
    address internal immutable executor;
    address[] internal tokens; // hostile's registered asset, honest debt asset, WETH, WBTC
    MockPriceFeed[4] internal feeds;
    uint256[] internal attesterKeys;
    address[] internal accounts;

    /// @notice What each token's balance at the executor should be, given what it legitimately paid.
    mapping(address token => uint256) public expectedBalance;
    /// @notice Collateral the executor received (seized) from the honest market, per token.
    mapping(address token => uint256) public received;
    uint256 public hostileCalls;

    constructor(
        LiquidationSettlement settlement_,
        MarginEngine engine_,
        HostileAdapter hostile_,
        bytes32 honestId_,
        bytes32 hostileId_,
        address executor_,
        address[] memory tokens_,
        MockPriceFeed[4] memory feeds_,
        uint256[] memory attesterKeys_,
        address[] memory accounts_
    ) {
        settlement = settlement_;
        engine = engine_;
        hostile = hostile_;
        honestId = honestId_;
        hostileId = hostileId_;
        executor = executor_;
        tokens = tokens_;
        feeds = feeds_;
        attesterKeys = attesterKeys_;
        accounts = accounts_;
        for (uint256 i = 0; i < tokens_.length; ++i) {
            expectedBalance[tokens_[i]] = TestToken(tokens_[i]).balanceOf(executor_);
        }
    }

    function tokenCount() external view returns (uint256) {
        return tokens.length;
    }

    function tokenAt(uint256 index) external view returns (address) {
        return tokens[index];
    }

    function switchHostileAsset(uint256 seed) external {
        hostile.switchDebtAsset(tokens[seed % tokens.length]);
    }

    function setHostileRepay(uint256 seed) external {
        hostile.setRepayToReport(bound(seed, 1, 100e18));
    }

    function setPrice(uint256 assetSeed, uint256 priceSeed) external {
        bool isWeth = assetSeed % 2 == 0;
        int256 answer = isWeth ? int256(bound(priceSeed, 800e8, 2_500e8)) : int256(bound(priceSeed, 20_000e8, 75_000e8));
        uint256 first = isWeth ? 0 : 2;
        feeds[first].setPrice(answer);
        feeds[first + 1].setPrice(answer);
    }

    function openHostile(uint256 repaySeed) external {
        uint256 repayAmount = bound(repaySeed, 1, hostile.repayToReport());
        hostileCalls += 1;
        vm.prank(executor);
        try settlement.liquidateOpen(hostileId, address(0xACC7), repayAmount) {
            expectedBalance[tokens[0]] -= repayAmount;
        } catch {}
    }

    function settleHostile(uint256 repaySeed, uint256 premiumSeed) external {
        uint256 repayAmount = bound(repaySeed, 1, hostile.repayToReport());
        uint256 premium = bound(premiumSeed, 0, 10e18);
        address account = address(0xACC7);
        uint256 nonce = settlement.nonces(hostileId, account);
        LiquidationSettlement.Award memory award = LiquidationSettlement.Award({
            intentId: settlement.intentIdOf(hostileId, account, nonce),
            marketId: hostileId,
            account: account,
            nonce: nonce,
            executor: executor,
            repayAmount: repayAmount,
            premium: premium,
            deadline: block.timestamp
        });
        bytes[] memory signatures = _sign(award);
        hostileCalls += 1;
        vm.prank(executor);
        try settlement.settle(award, signatures) {
            expectedBalance[tokens[0]] -= repayAmount + premium;
        } catch {}
    }

    function settleHonest(uint256 accountSeed, uint256 premiumSeed) external {
        address account = accounts[accountSeed % accounts.length];
        if (!engine.isLiquidatable(account)) return;
        uint256 repayAmount = engine.maxRepay(account);
        uint256 premium = bound(premiumSeed, 10e18, 1_000e18);
        uint256 nonce = settlement.nonces(honestId, account);
        LiquidationSettlement.Award memory award = LiquidationSettlement.Award({
            intentId: settlement.intentIdOf(honestId, account, nonce),
            marketId: honestId,
            account: account,
            nonce: nonce,
            executor: executor,
            repayAmount: repayAmount,
            premium: premium,
            deadline: block.timestamp
        });
        bytes[] memory signatures = _sign(award);
        uint256 wethBefore = TestToken(tokens[2]).balanceOf(executor);
        uint256 wbtcBefore = TestToken(tokens[3]).balanceOf(executor);
        vm.prank(executor);
        try settlement.settle(award, signatures) {
            expectedBalance[tokens[1]] -= repayAmount + premium;
            uint256 wethGain = TestToken(tokens[2]).balanceOf(executor) - wethBefore;
            uint256 wbtcGain = TestToken(tokens[3]).balanceOf(executor) - wbtcBefore;
            expectedBalance[tokens[2]] += wethGain;
            expectedBalance[tokens[3]] += wbtcGain;
        } catch {}
    }

    function _sign(LiquidationSettlement.Award memory award) private view returns (bytes[] memory signatures) {
        bytes32 digest = settlement.hashAward(award);
        signatures = new bytes[](2);
        for (uint256 i = 0; i < 2; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(attesterKeys[i], digest);
            signatures[i] = abi.encodePacked(r, s, v);
        }
    }
}

/// @notice No token other than a market's registered debt asset ever leaves an executor, and of that
/// asset only the repays and premiums it agreed to: whatever a hostile adapter answers.
contract ExecutorInvariantTest is SettlementHelper {
    ExecutorHandler internal handler;
    HostileAdapter internal hostile;
    TestToken internal hostileAsset;

    function setUp() public override {
        super.setUp(); // the honest market, its unhealthy `borrower`, a funded executor
        _setWethPrice(2000e8);
        _openPosition(address(0xA1), weth, 5e18, 7_000e18);
        _deposit(address(0xA2), weth, 10e18);
        _openPosition(address(0xA2), wbtc, 0.5e18, 30_000e18);

        hostileAsset = new TestToken("Hostile USD", "hUSD");
        hostile = new HostileAdapter(marketAdmin, address(hostileAsset));
        vm.startPrank(marketAdmin);
        bytes32 hostileId = settlement.registerMarket(address(hostile), beneficiary, 0);
        settlement.setLadder(hostileId, 1e18, 0);
        vm.stopPrank();
        hostileAsset.mint(executor, 1_000_000e18);
        weth.mint(executor, 100e18);
        wbtc.mint(executor, 10e18);
        address[] memory tokens = new address[](4);
        tokens[0] = address(hostileAsset);
        tokens[1] = debtAsset;
        tokens[2] = address(weth);
        tokens[3] = address(wbtc);
        for (uint256 i = 0; i < tokens.length; ++i) {
            _approve(tokens[i], executor, address(settlement), type(uint256).max); // approvals everywhere
            hostile.addLoot(tokens[i]);
        }

        address[] memory accounts = new address[](3);
        accounts[0] = borrower;
        accounts[1] = address(0xA1);
        accounts[2] = address(0xA2);
        MockPriceFeed[4] memory feeds = [wethFeedA, wethFeedB, wbtcFeedA, wbtcFeedB];
        handler = new ExecutorHandler(
            settlement, engine, hostile, marketId, hostileId, executor, tokens, feeds, attesterKeys, accounts
        );
        targetContract(address(handler));
    }

    function invariant_no_token_but_the_registered_debt_asset_ever_leaves_an_executor() public view {
        for (uint256 i = 0; i < handler.tokenCount(); ++i) {
            address token = handler.tokenAt(i);
            assertEq(
                TestToken(token).balanceOf(executor),
                handler.expectedBalance(token),
                "the executor paid exactly its repays and premiums, in each market's registered asset"
            );
        }
    }

    function invariant_the_settlement_holds_nothing() public view {
        for (uint256 i = 0; i < handler.tokenCount(); ++i) {
            assertEq(TestToken(handler.tokenAt(i)).balanceOf(address(settlement)), 0, "no token stuck");
        }
    }
}
