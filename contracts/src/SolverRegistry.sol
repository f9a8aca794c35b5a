// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title SolverRegistry
/// @notice Sybil-resistant solver admission (issue #12): nodes count a solver's bid commits only if
/// its ed25519 key is bonded here by an executor, the EVM address that will settle its awards.
/// @dev Admission design. A solver is two identities: an ed25519 key that signs its gossip envelopes
/// (commits and reveals) and an executor address that sends `settle` on this chain. The executor
/// registers the key with a bond of at least `minBond` (native currency); nodes admit a commit only
/// when the reveal's envelope is signed by the key *and* the reveal names an executor that bonded
/// that key (`isAdmitted`). The contract cannot verify ed25519 signatures, and need not: a stranger
/// who bonds someone else's key under their own executor gains nothing, because the key's owner signs
/// only reveals naming its own executor, so the stranger's bond admits no message it could produce.
/// Each fresh key costs one bond, which is what makes a flood of sybil solvers expensive.
///
/// Leaving is slow on purpose: `requestExit` stops admission at once (nodes stop counting the key)
/// and starts `exitDelay`; only after it may `withdraw` return the bond, so a solver cannot bond,
/// misbehave in a round and take its bond straight back. There is no slashing here: the bond is a
/// cost of entry and a deposit that is locked while in use. One record per executor; after
/// withdrawing, the executor may register again (with any key).
///
/// Accounting: the contract's balance equals the sum of the recorded bonds (it has no receive
/// function, so plain transfers are refused); withdrawals follow checks-effects-interactions and
/// every entry point is non-reentrant.
contract SolverRegistry {
    /// @param solverKey The solver's ed25519 public key (32 bytes); zero means no record.
    /// @param bond Native currency held for this executor, in wei.
    /// @param exitAt Zero while admitted; once exit is requested, when the bond may be withdrawn.
    struct Solver {
        bytes32 solverKey;
        uint192 bond;
        uint64 exitAt;
    }

    event SolverRegistered(address indexed executor, bytes32 indexed solverKey, uint256 bond);
    event BondIncreased(address indexed executor, uint256 newBond);
    event SolverExitRequested(address indexed executor, bytes32 indexed solverKey, uint64 exitAt);
    event SolverWithdrawn(address indexed executor, bytes32 indexed solverKey, uint256 bond);

    error Reentrancy();
    error InvalidMinBond();
    error ZeroSolverKey();
    error BondBelowMinimum(uint256 bond, uint256 minBond);
    error AlreadyRegistered(address executor);
    error NotRegistered(address executor);
    error AlreadyExiting(address executor, uint64 exitAt);
    error ExitNotRequested(address executor);
    error ExitNotDue(address executor, uint64 exitAt);
    error ZeroAmount();
    error BondTooLarge(uint256 bond);
    error TransferFailed(address executor, uint256 amount);

    /// @notice Smallest bond (wei) that admits a solver.
    uint256 public immutable minBond;
    /// @notice Seconds between `requestExit` and the earliest `withdraw`.
    uint64 public immutable exitDelay;

    bool private transient locked;

    mapping(address executor => Solver) private solvers;

    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    constructor(uint256 minBond_, uint64 exitDelay_) {
        if (minBond_ == 0) revert InvalidMinBond();
        minBond = minBond_;
        exitDelay = exitDelay_;
    }

    /// @notice Bonds `solverKey` to the caller, who becomes its executor. The whole `msg.value` is the
    /// bond and must be at least `minBond`; an executor holds one record at a time.
    function register(bytes32 solverKey) external payable nonReentrant {
        if (solverKey == bytes32(0)) revert ZeroSolverKey();
        if (msg.value < minBond) revert BondBelowMinimum(msg.value, minBond);
        if (solvers[msg.sender].solverKey != bytes32(0)) revert AlreadyRegistered(msg.sender);
        solvers[msg.sender] = Solver({solverKey: solverKey, bond: _toUint192(msg.value), exitAt: 0});
        emit SolverRegistered(msg.sender, solverKey, msg.value);
    }

    /// @notice Adds `msg.value` to the caller's bond, while it is registered and not exiting.
    function addBond() external payable nonReentrant {
        Solver storage solver = solvers[msg.sender];
        if (solver.solverKey == bytes32(0)) revert NotRegistered(msg.sender);
        if (solver.exitAt != 0) revert AlreadyExiting(msg.sender, solver.exitAt);
        if (msg.value == 0) revert ZeroAmount();
        uint256 newBond = uint256(solver.bond) + msg.value;
        solver.bond = _toUint192(newBond);
        emit BondIncreased(msg.sender, newBond);
    }

    /// @notice Stops the caller's admission now and starts the exit delay.
    function requestExit() external nonReentrant {
        Solver storage solver = solvers[msg.sender];
        if (solver.solverKey == bytes32(0)) revert NotRegistered(msg.sender);
        if (solver.exitAt != 0) revert AlreadyExiting(msg.sender, solver.exitAt);
        uint256 due = block.timestamp + exitDelay;
        // saturates: an absurd delay means never, not a wrapped-around early exit
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 exitAt = due > type(uint64).max ? type(uint64).max : uint64(due);
        solver.exitAt = exitAt;
        emit SolverExitRequested(msg.sender, solver.solverKey, exitAt);
    }

    /// @notice Returns the caller's bond once its exit delay has passed, and deletes its record.
    function withdraw() external nonReentrant {
        Solver memory solver = solvers[msg.sender];
        if (solver.solverKey == bytes32(0)) revert NotRegistered(msg.sender);
        if (solver.exitAt == 0) revert ExitNotRequested(msg.sender);
        if (block.timestamp < solver.exitAt) revert ExitNotDue(msg.sender, solver.exitAt);
        delete solvers[msg.sender];
        emit SolverWithdrawn(msg.sender, solver.solverKey, solver.bond);
        (bool sent,) = msg.sender.call{value: solver.bond}("");
        if (!sent) revert TransferFailed(msg.sender, solver.bond);
    }

    /// @notice The record of `executor` (all zero: none).
    function solverOf(address executor) external view returns (bytes32 solverKey, uint256 bond, uint64 exitAt) {
        Solver memory solver = solvers[executor];
        return (solver.solverKey, solver.bond, solver.exitAt);
    }

    /// @notice Whether nodes should count commits of `solverKey` settled by `executor`: the executor
    /// bonded exactly this key, with at least `minBond`, and has not asked to leave.
    function isAdmitted(address executor, bytes32 solverKey) external view returns (bool) {
        Solver memory solver = solvers[executor];
        return solverKey != bytes32(0) && solver.solverKey == solverKey && solver.bond >= minBond
            && solver.exitAt == 0;
    }

    function _toUint192(uint256 value) private pure returns (uint192) {
        if (value > type(uint192).max) revert BondTooLarge(value);
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint192(value);
    }
}
