// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SettlementHelper} from "./Helper.sol";
import {LiquidationSettlement} from "../../src/LiquidationSettlement.sol";
import {MarginEngine} from "../../src/MarginEngine.sol";
import {TwoStepOwnable} from "../../src/access/TwoStepOwnable.sol";
import {HostileAdapter} from "../mocks/HostileAdapter.sol";

contract RegisterMarketTest is SettlementHelper {
    MarginEngine internal secondEngine;

    function setUp() public override {
        super.setUp();
        secondEngine = new MarginEngine(marketAdmin, debtAsset, address(router), _riskParams());
    }

    function test_registerMarket_by_market_admin_records_market() public {
        bytes32 expectedId = keccak256(abi.encode(address(secondEngine)));
        vm.expectEmit(true, true, false, true, address(settlement));
        emit LiquidationSettlement.MarketRegistered(expectedId, address(secondEngine), beneficiary, 5e18);
        vm.prank(marketAdmin);
        bytes32 id = settlement.registerMarket(address(secondEngine), beneficiary, 5e18);

        assertEq(id, expectedId, "market id is keccak256(abi.encode(adapter))");
        (
            address adapter,
            address recordedBeneficiary,
            uint256 reservePremium,
            bool paused,
            uint64 permissionlessHealthWad,
            uint32 gracePeriod,
            address recordedDebtAsset
        ) = settlement.markets(id);
        assertEq(adapter, address(secondEngine), "adapter recorded");
        assertEq(recordedBeneficiary, beneficiary, "beneficiary recorded");
        assertEq(reservePremium, 5e18, "reserve premium recorded");
        assertFalse(paused, "a new market is live");
        assertEq(permissionlessHealthWad, settlement.DEFAULT_PERMISSIONLESS_HEALTH_WAD(), "default threshold");
        assertEq(gracePeriod, settlement.DEFAULT_GRACE_PERIOD(), "default grace period");
        assertEq(recordedDebtAsset, debtAsset, "debt asset fixed at registration");
    }

    function test_registerMarket_rejects_caller_other_than_market_admin() public {
        address stranger = address(0x5757);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.OnlyMarketAdmin.selector, stranger, marketAdmin));
        vm.prank(stranger);
        settlement.registerMarket(address(secondEngine), stranger, 0);
    }

    function test_registerMarket_rejects_already_registered_market() public {
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.MarketAlreadyRegistered.selector, marketId));
        vm.prank(marketAdmin);
        settlement.registerMarket(address(engine), address(0xBAD), 0);
    }

    function test_registerMarket_rejects_zero_beneficiary() public {
        vm.expectRevert(TwoStepOwnable.ZeroAddress.selector);
        vm.prank(marketAdmin);
        settlement.registerMarket(address(secondEngine), address(0), 0);
    }

    function test_updateMarket_only_by_market_admin() public {
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.OnlyMarketAdmin.selector, owner, marketAdmin));
        vm.prank(owner);
        settlement.updateMarket(marketId, owner, 0);

        vm.prank(marketAdmin);
        settlement.updateMarket(marketId, address(0xF00D), 1e18);
        (, address recordedBeneficiary, uint256 reservePremium,,,,) = settlement.markets(marketId);
        assertEq(recordedBeneficiary, address(0xF00D), "beneficiary updated");
        assertEq(reservePremium, 1e18, "reserve updated");
    }

    function test_setMarketPaused_only_by_market_admin() public {
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.OnlyMarketAdmin.selector, executor, marketAdmin));
        vm.prank(executor);
        settlement.setMarketPaused(marketId, true);

        vm.expectEmit(true, false, false, true, address(settlement));
        emit LiquidationSettlement.MarketPausedSet(marketId, true);
        vm.prank(marketAdmin);
        settlement.setMarketPaused(marketId, true);
        (,,, bool paused,,,) = settlement.markets(marketId);
        assertTrue(paused, "paused");
    }

    function test_setLadder_by_market_admin_within_bounds() public {
        vm.expectEmit(true, false, false, true, address(settlement));
        emit LiquidationSettlement.LadderSet(marketId, 1e18, 0);
        vm.prank(marketAdmin);
        settlement.setLadder(marketId, 1e18, 0); // a fully open market: the keeper baseline
        (,,,, uint64 permissionlessHealthWad, uint32 gracePeriod,) = settlement.markets(marketId);
        assertEq(permissionlessHealthWad, 1e18, "threshold");
        assertEq(gracePeriod, 0, "grace period");
    }

    function test_setLadder_rejects_switching_the_fallback_off() public {
        vm.startPrank(marketAdmin);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidLadder.selector, 0.5e18 - 1, 60));
        settlement.setLadder(marketId, 0.5e18 - 1, 60);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidLadder.selector, 1e18 + 1, 60));
        settlement.setLadder(marketId, 1e18 + 1, 60);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidLadder.selector, 0.95e18, 1 days + 1));
        settlement.setLadder(marketId, 0.95e18, 1 days + 1);
        vm.stopPrank();
    }

    function test_setLadder_only_by_market_admin() public {
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.OnlyMarketAdmin.selector, owner, marketAdmin));
        vm.prank(owner);
        settlement.setLadder(marketId, 1e18, 0);
    }

    function test_marketIdOf_is_keccak_of_abi_encoded_adapter() public view {
        assertEq(settlement.marketIdOf(address(engine)), keccak256(abi.encode(address(engine))), "market id derivation");
    }

    function test_registerMarket_fixes_the_debt_asset_the_adapter_names_then() public {
        vm.prank(marketAdmin);
        bytes32 id = settlement.registerMarket(address(secondEngine), beneficiary, 0);
        (,,,,,, address recordedDebtAsset) = settlement.markets(id);
        assertEq(recordedDebtAsset, secondEngine.debtAsset(), "read once, at registration");
    }

    function test_registerMarket_rejects_an_adapter_whose_debt_asset_is_not_a_contract() public {
        HostileAdapter adapter = new HostileAdapter(marketAdmin, address(0xDEAD));
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.InvalidDebtAsset.selector, address(0xDEAD)));
        vm.prank(marketAdmin);
        settlement.registerMarket(address(adapter), beneficiary, 0);
    }

    function test_registerMarket_and_updateMarket_reject_a_reserve_premium_beyond_96_bits() public {
        uint256 tooLarge = uint256(type(uint96).max) + 1;
        vm.startPrank(marketAdmin);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.ReservePremiumTooLarge.selector, tooLarge));
        settlement.registerMarket(address(secondEngine), beneficiary, tooLarge);
        vm.expectRevert(abi.encodeWithSelector(LiquidationSettlement.ReservePremiumTooLarge.selector, tooLarge));
        settlement.updateMarket(marketId, beneficiary, tooLarge);
        vm.stopPrank();
    }
}
