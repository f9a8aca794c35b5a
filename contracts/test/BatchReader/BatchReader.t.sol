// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../base/Test.sol";
import {BatchReader} from "../../src/lens/BatchReader.sol";

/// @notice Targets for the batch: an honest view, a reverting one, a gas burner and a memory bomb.
contract Target {
    error Nope(uint256 code);

    function value() external pure returns (uint256) {
        return 42;
    }

    function echo(uint256 x) external pure returns (uint256, uint256) {
        return (x, x * 2);
    }

    function fail(uint256 code) external pure {
        revert Nope(code);
    }

    function burn() external view returns (uint256 spins) {
        while (gasleft() > 100) ++spins;
    }

    function huge() external pure returns (bytes memory out) {
        out = new bytes(100_000);
    }
}

contract BatchReaderTest is Test {
    Target internal target;

    function setUp() public {
        target = new Target();
    }

    /// Runs the batch the way a client's `eth_call` does and decodes its revert.
    function run(BatchReader.Call[] memory calls, uint256 gasPerCall, uint256 maxReturn)
        internal
        returns (BatchReader.Result[] memory results)
    {
        try new BatchReader(calls, gasPerCall, maxReturn) {
            revert("the batch must never deploy");
        } catch (bytes memory reason) {
            assertEq(bytes32(bytes4(reason)), bytes32(BatchReader.BatchResults.selector), "reverts with BatchResults");
            bytes memory body = new bytes(reason.length - 4);
            for (uint256 i = 0; i < body.length; ++i) {
                body[i] = reason[i + 4];
            }
            results = abi.decode(body, (BatchReader.Result[]));
        }
    }

    function test_ReturnsEveryCallsResultInOrder() public {
        BatchReader.Call[] memory calls = new BatchReader.Call[](3);
        calls[0] = BatchReader.Call(address(target), abi.encodeCall(Target.echo, (7)));
        calls[1] = BatchReader.Call(address(target), abi.encodeCall(Target.value, ()));
        calls[2] = BatchReader.Call(address(target), abi.encodeCall(Target.echo, (9)));
        BatchReader.Result[] memory results = run(calls, 1_000_000, 1024);
        assertEq(results.length, 3, "one result per call");
        (uint256 x, uint256 y) = abi.decode(results[0].returnData, (uint256, uint256));
        assertTrue(results[0].success && x == 7 && y == 14, "first call");
        assertEq(abi.decode(results[1].returnData, (uint256)), 42, "second call");
        (x, y) = abi.decode(results[2].returnData, (uint256, uint256));
        assertTrue(results[2].success && x == 9 && y == 18, "third call");
    }

    function test_ARevertIsAnAnswerWithItsData() public {
        BatchReader.Call[] memory calls = new BatchReader.Call[](2);
        calls[0] = BatchReader.Call(address(target), abi.encodeCall(Target.fail, (5)));
        calls[1] = BatchReader.Call(address(target), abi.encodeCall(Target.value, ()));
        BatchReader.Result[] memory results = run(calls, 1_000_000, 1024);
        assertFalse(results[0].success, "the revert is reported");
        assertEq(
            keccak256(results[0].returnData),
            keccak256(abi.encodeWithSelector(Target.Nope.selector, 5)),
            "with its data"
        );
        assertTrue(results[1].success, "the next call still runs");
    }

    /// A hostile call followed by an honest one: the hostile one fails without data, the honest
    /// one is still answered.
    function assertFailsAlone(bytes memory hostile, uint256 gasPerCall, uint256 maxReturn, string memory why) internal {
        BatchReader.Call[] memory calls = new BatchReader.Call[](2);
        calls[0] = BatchReader.Call(address(target), hostile);
        calls[1] = BatchReader.Call(address(target), abi.encodeCall(Target.value, ()));
        BatchReader.Result[] memory results = run(calls, gasPerCall, maxReturn);
        assertFalse(results[0].success, why);
        assertEq(results[0].returnData.length, 0, "and left no data");
        assertEq(abi.decode(results[1].returnData, (uint256)), 42, "the honest call was answered");
    }

    function test_AGasBurnerFailsAlone() public {
        assertFailsAlone(abi.encodeCall(Target.burn, ()), 200_000, 1024, "the burner ran out of its own gas");
    }

    function test_OversizedReturnDataIsNotCopied() public {
        assertFailsAlone(abi.encodeCall(Target.huge, ()), 1_000_000, 4096, "too much data is a failure");
    }

    function test_ACallToCodelessAddressSucceedsEmpty() public {
        BatchReader.Call[] memory calls = new BatchReader.Call[](1);
        calls[0] = BatchReader.Call(address(0xdead), abi.encodeCall(Target.value, ()));
        BatchReader.Result[] memory results = run(calls, 1_000_000, 1024);
        assertTrue(results[0].success, "like eth_call, a call to no code succeeds");
        assertEq(results[0].returnData.length, 0, "with no data (the client finds it malformed)");
    }

    function testFuzz_EchoesAnyBatch(uint8 count, uint256 seed) public {
        BatchReader.Call[] memory calls = new BatchReader.Call[](count % 40);
        for (uint256 i = 0; i < calls.length; ++i) {
            calls[i] = BatchReader.Call(address(target), abi.encodeCall(Target.echo, (seed % 1e30 + i)));
        }
        BatchReader.Result[] memory results = run(calls, 1_000_000, 1024);
        assertEq(results.length, calls.length, "one result per call");
        for (uint256 i = 0; i < results.length; ++i) {
            (uint256 x,) = abi.decode(results[i].returnData, (uint256, uint256));
            assertEq(x, seed % 1e30 + i, "in order");
        }
    }
}
