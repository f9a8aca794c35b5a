// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarginMarket} from "./interfaces/IMarginMarket.sol";
import {IERC20Minimal} from "./interfaces/IERC20Minimal.sol";
import {SafeTransferLib} from "./libraries/SafeTransferLib.sol";
import {TwoStepOwnable} from "./access/TwoStepOwnable.sol";
import {WadMath} from "./libraries/WadMath.sol";

/// @title LiquidationSettlement
/// @notice Executes liquidations won in Backstop's off-chain sealed-bid auctions. A committee of
/// attesters signs an EIP-712 `Award` naming the winning executor, its repay and its premium; the
/// executor settles it here, which runs the liquidation on the market's adapter and pays the premium
/// to the market's beneficiary. The premium is value that would otherwise leak to a gas race.
///
/// Fallback ladder (liveness without the network). Below health 1.0 (the adapter's `maxRepay` is
/// non-zero) an award can settle. The open path judges health by the adapter's `openLiquidationHealth`
/// (collateralValue / requirement; the MarginEngine values a disputed price at the feed that says the
/// account is healthier, so one oracle alone never opens it): between 1.0 and the market's
/// `permissionlessHealthWad` *only* an award can liquidate; below that threshold, or once the account
/// was flagged unhealthy on-chain (`flagUnhealthy`) more than `gracePeriod` seconds ago, anyone may
/// call `liquidateOpen`, which runs the same adapter liquidation at the protocol's standard bonus and
/// pays no premium. A market with threshold 1.0 and no grace period is fully open (a keeper baseline).
/// Pausing a market stops awards only: the open path is the safety net and never switches off.
///
/// The unhealthy flag describes the present. `flagUnhealthy` sets it on a liquidatable account;
/// `clearUnhealthy` (anyone) removes it from a healthy one; every liquidation of a flagged account, by
/// either path, checks the account afterwards and clears the flag if health is restored, so a later
/// dip starts again from the award-only band and a fresh grace period. A settle that leaves the
/// account unhealthy restarts the grace period only if it repaid a meaningful share (at least
/// `MEANINGFUL_REPAY_WAD` of what `maxRepay` allowed): a stream of dust awards cannot keep the open
/// path shut. Between two observations the chain cannot know an account's health; nodes and the
/// account's owner clear the flag of an account that recovered on its own.
///
/// Adapters lie. Anyone can register an adapter (it names its own admin), so the settlement trusts it
/// for nothing but its own market: the debt asset is read once, at registration, and `settle` and
/// `liquidateOpen` only ever move that asset from the caller — the repay to this contract, which
/// approves exactly the repay to the adapter and requires it taken, and the premium to the
/// beneficiary — so an executor's approvals for other markets can never be spent here.
/// @dev One settlement per chain. Per-(market, account) nonces make every award single-use: an award
/// binds the intent id derived from the nonce, and every liquidation (award or open) bumps it before
/// any external call. The EIP-712 domain binds chain and contract; the award binds market, account and
/// nonce; so a signature cannot be replayed across chains, contracts, markets, accounts or nonces.
/// Every external entry that moves tokens is non-reentrant and ends with no balance and no allowance.
contract LiquidationSettlement is TwoStepOwnable {
    using SafeTransferLib for address;

    /// @notice The result of one auction, signed by the committee.
    /// @param intentId keccak256(abi.encode(chainId, settlement, marketId, account, nonce)).
    /// @param executor The only address allowed to settle (the winning solver's executor).
    /// @param repayAmount Debt the executor repays, in debt-asset units.
    /// @param premium Debt-asset amount the executor pays the market's beneficiary for the right to liquidate.
    /// @param deadline Unix time in seconds; the award settles while block.timestamp <= deadline.
    struct Award {
        bytes32 intentId;
        bytes32 marketId;
        address account;
        uint256 nonce;
        address executor;
        uint256 repayAmount;
        uint256 premium;
        uint256 deadline;
    }

    /// @notice A market registered by its own admin (three storage slots, all read by `settle`).
    /// @param adapter The IMarginMarket the settlement liquidates through.
    /// @param permissionlessHealthWad Below this health ratio the open path is available (e.g. 0.95e18).
    /// @param gracePeriod Seconds after `flagUnhealthy` from which the open path is available.
    /// @param beneficiary Receives every premium (e.g. the protocol's insurance fund).
    /// @param paused A paused market settles no awards (its admin's emergency stop); the open path stays.
    /// @param debtAsset The adapter's debt asset as read at registration: the only token ever pulled.
    /// @param reservePremium Smallest premium an award may carry; there are no zero-bid wins.
    struct Market {
        address adapter;
        uint64 permissionlessHealthWad;
        uint32 gracePeriod;
        address beneficiary;
        bool paused;
        address debtAsset;
        uint96 reservePremium;
    }

    /// @dev Per (market, account), one slot: the liquidation nonce and when the account was flagged.
    struct AccountState {
        uint128 nonce;
        uint64 flaggedAt;
    }

    event MarketRegistered(
        bytes32 indexed marketId, address indexed adapter, address beneficiary, uint256 reservePremium
    );
    event MarketUpdated(bytes32 indexed marketId, address beneficiary, uint256 reservePremium);
    event MarketPausedSet(bytes32 indexed marketId, bool paused);
    event Settled(
        bytes32 indexed intentId,
        bytes32 indexed marketId,
        address indexed account,
        uint256 nonce,
        address executor,
        uint256 repayAmount,
        uint256 premium,
        uint256 seizedValue
    );
    event LadderSet(bytes32 indexed marketId, uint256 permissionlessHealthWad, uint256 gracePeriod);
    event UnhealthyFlagged(bytes32 indexed marketId, address indexed account, uint256 flaggedAt);
    event UnhealthyCleared(bytes32 indexed marketId, address indexed account);
    /// @notice A liquidation through the open path; `nonce` is the nonce it consumed, so an award for it
    /// can no longer settle and nodes close that auction.
    event OpenLiquidated(
        bytes32 indexed marketId,
        address indexed account,
        address indexed liquidator,
        uint256 nonce,
        uint256 repayAmount,
        uint256 seizedValue
    );
    event AttesterAdded(address indexed attester);
    event AttesterRemoved(address indexed attester);
    event ThresholdChanged(uint256 threshold);

    error Reentrancy();
    error InvalidThreshold(uint256 threshold, uint256 attesterCount);
    error TooManyAttesters();
    error AlreadyAttester(address attester);
    error NotAttester(address attester);
    error OnlyMarketAdmin(address caller, address admin);
    error MarketAlreadyRegistered(bytes32 marketId);
    error UnknownMarket(bytes32 marketId);
    error MarketIsPaused(bytes32 marketId);
    error AwardExpired(uint256 deadline, uint256 nowTimestamp);
    error NotExecutor(address caller, address executor);
    error StaleNonce(uint256 awardNonce, uint256 currentNonce);
    error IntentIdMismatch(bytes32 awardIntentId, bytes32 expectedIntentId);
    error PremiumBelowReserve(uint256 premium, uint256 reservePremium);
    error InvalidSignatureLength(uint256 index, uint256 length);
    error InvalidSignature(uint256 index);
    error SignerNotAttester(uint256 index, address signer);
    error DuplicateSigner(uint256 index, address signer);
    error TooFewSignatures(uint256 count, uint256 threshold);
    error AccountNotLiquidatable(address account);
    error ZeroRepay();
    error RepayAboveMax(uint256 repayAmount, uint256 maxRepayAmount);
    error AdapterDidNotPullRepay(uint256 balanceBefore, uint256 balanceAfter);
    error InvalidLadder(uint256 permissionlessHealthWad, uint256 gracePeriod);
    error AwardOnly(uint256 healthWad, uint256 flaggedAt);
    error AccountStillUnhealthy(address account);
    error ReservePremiumTooLarge(uint256 reservePremium);
    error InvalidDebtAsset(address debtAsset);

    bytes32 public constant AWARD_TYPEHASH = keccak256(
        "Award(bytes32 intentId,bytes32 marketId,address account,uint256 nonce,address executor,uint256 repayAmount,uint256 premium,uint256 deadline)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("Backstop");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// @dev secp256k1n / 2: signatures with a larger s are the malleable twin of a valid one.
    uint256 private constant MAX_S = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @notice Committee size is bounded so the duplicate-signer check fits one 256-bit bitmap.
    uint256 public constant MAX_ATTESTERS = 256;
    /// @notice Ladder defaults for a newly registered market; its admin may change them within bounds.
    uint64 public constant DEFAULT_PERMISSIONLESS_HEALTH_WAD = 0.95e18;
    uint32 public constant DEFAULT_GRACE_PERIOD = 5 minutes;
    /// @notice Bounds that keep the open path reachable: a market admin cannot switch the fallback off.
    uint256 public constant MIN_PERMISSIONLESS_HEALTH_WAD = 0.5e18;
    uint256 public constant MAX_GRACE_PERIOD = 1 days;
    /// @notice Share of `maxRepay` a settle of a flagged, still unhealthy account must repay to restart
    /// its grace period.
    uint256 public constant MEANINGFUL_REPAY_WAD = 0.5e18;

    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedDomainSeparator;

    bool private transient locked;

    uint256 public threshold;
    address[] private attesterList;
    /// @dev Position in `attesterList` plus one; zero means "not an attester".
    mapping(address => uint256) private attesterSlot;

    mapping(bytes32 marketId => Market) private marketOf;
    mapping(bytes32 marketId => mapping(address account => AccountState)) private accountStates;

    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    constructor(address owner_, address[] memory attesters_, uint256 threshold_) TwoStepOwnable(owner_) {
        for (uint256 i = 0; i < attesters_.length; ++i) {
            _addAttester(attesters_[i]);
        }
        _setThreshold(threshold_);
        cachedChainId = block.chainid;
        cachedDomainSeparator = _buildDomainSeparator();
    }

    // ---------------------------------------------------------------- committee (owner-managed)

    function attesters() external view returns (address[] memory) {
        return attesterList;
    }

    function isAttester(address account) public view returns (bool) {
        return attesterSlot[account] != 0;
    }

    function addAttester(address attester) external onlyOwner {
        _addAttester(attester);
    }

    /// @dev Fails if the remaining committee could no longer reach the threshold; lower it first.
    function removeAttester(address attester) external onlyOwner {
        uint256 slot = attesterSlot[attester];
        if (slot == 0) revert NotAttester(attester);
        uint256 lastIndex = attesterList.length - 1;
        if (threshold > lastIndex) revert InvalidThreshold(threshold, lastIndex);
        address moved = attesterList[lastIndex];
        attesterList[slot - 1] = moved;
        attesterSlot[moved] = slot;
        attesterList.pop();
        delete attesterSlot[attester];
        emit AttesterRemoved(attester);
    }

    function setThreshold(uint256 newThreshold) external onlyOwner {
        _setThreshold(newThreshold);
    }

    // ---------------------------------------------------------------- market registry

    /// @notice The id a market is known by everywhere (intents, awards, events).
    function marketIdOf(address adapter) public pure returns (bytes32) {
        return keccak256(abi.encode(adapter));
    }

    /// @notice Registers `adapter` so the network auctions its liquidations. Only the market's own
    /// admin may, because the registration decides where its premiums go. The adapter's debt asset is
    /// read here once and fixed: it is the only token this market's liquidations ever pull.
    function registerMarket(address adapter, address beneficiary, uint256 reservePremium)
        external
        returns (bytes32 marketId)
    {
        if (adapter == address(0) || beneficiary == address(0)) revert ZeroAddress();
        address marketAdmin = IMarginMarket(adapter).admin();
        if (msg.sender != marketAdmin) revert OnlyMarketAdmin(msg.sender, marketAdmin);
        marketId = marketIdOf(adapter);
        if (marketOf[marketId].adapter != address(0)) revert MarketAlreadyRegistered(marketId);
        address debtAsset = IMarginMarket(adapter).debtAsset();
        if (debtAsset.code.length == 0) revert InvalidDebtAsset(debtAsset);
        marketOf[marketId] = Market({
            adapter: adapter,
            permissionlessHealthWad: DEFAULT_PERMISSIONLESS_HEALTH_WAD,
            gracePeriod: DEFAULT_GRACE_PERIOD,
            beneficiary: beneficiary,
            paused: false,
            debtAsset: debtAsset,
            reservePremium: _toUint96(reservePremium)
        });
        emit MarketRegistered(marketId, adapter, beneficiary, reservePremium);
        emit LadderSet(marketId, DEFAULT_PERMISSIONLESS_HEALTH_WAD, DEFAULT_GRACE_PERIOD);
    }

    /// @notice A registered market (zero adapter: none). The first six fields are those of the
    /// original registry; `debtAsset` is the asset fixed at registration.
    function markets(bytes32 marketId)
        external
        view
        returns (
            address adapter,
            address beneficiary,
            uint256 reservePremium,
            bool paused,
            uint64 permissionlessHealthWad,
            uint32 gracePeriod,
            address debtAsset
        )
    {
        Market memory market = marketOf[marketId];
        return (
            market.adapter,
            market.beneficiary,
            market.reservePremium,
            market.paused,
            market.permissionlessHealthWad,
            market.gracePeriod,
            market.debtAsset
        );
    }

    /// @notice The liquidation nonce of (market, account): awards and intents bind it.
    function nonces(bytes32 marketId, address account) external view returns (uint256) {
        return accountStates[marketId][account].nonce;
    }

    /// @notice When `account` was flagged unhealthy on `marketId` (zero: not flagged).
    function unhealthySince(bytes32 marketId, address account) external view returns (uint256) {
        return accountStates[marketId][account].flaggedAt;
    }

    /// @notice Changes where premiums go and the reserve; the market admin only.
    function updateMarket(bytes32 marketId, address beneficiary, uint256 reservePremium) external {
        _requireMarketAdmin(marketId);
        if (beneficiary == address(0)) revert ZeroAddress();
        Market storage market = marketOf[marketId];
        market.beneficiary = beneficiary;
        market.reservePremium = _toUint96(reservePremium);
        emit MarketUpdated(marketId, beneficiary, reservePremium);
    }

    /// @notice Emergency stop for a market's awards; the market admin only. The open fallback path
    /// stays available while paused: pausing never switches the safety net off.
    function setMarketPaused(bytes32 marketId, bool paused) external {
        _requireMarketAdmin(marketId);
        marketOf[marketId].paused = paused;
        emit MarketPausedSet(marketId, paused);
    }

    /// @notice Sets where the award-only band ends and how long a flagged account waits for the
    /// network before anyone may liquidate it; the market admin only. Bounded so the fallback always
    /// exists: threshold in [0.5, 1.0] (1.0: open below maintenance), grace period at most one day.
    function setLadder(bytes32 marketId, uint256 permissionlessHealthWad, uint256 gracePeriod) external {
        _requireMarketAdmin(marketId);
        if (
            permissionlessHealthWad < MIN_PERMISSIONLESS_HEALTH_WAD || permissionlessHealthWad > 1e18
                || gracePeriod > MAX_GRACE_PERIOD
        ) revert InvalidLadder(permissionlessHealthWad, gracePeriod);
        Market storage market = marketOf[marketId];
        // casting is safe: both were bounded above (1e18 < 2^64, one day < 2^32)
        // forge-lint: disable-next-line(unsafe-typecast)
        market.permissionlessHealthWad = uint64(permissionlessHealthWad);
        // forge-lint: disable-next-line(unsafe-typecast)
        market.gracePeriod = uint32(gracePeriod);
        emit LadderSet(marketId, permissionlessHealthWad, gracePeriod);
    }

    // ---------------------------------------------------------------- ids and EIP-712

    /// @notice The id every node derives for the auction of (market, account) at `nonce`.
    function intentIdOf(bytes32 marketId, address account, uint256 nonce) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), marketId, account, nonce));
    }

    function domainSeparator() public view returns (bytes32) {
        // Recomputed after a chain split so an award signed for one fork cannot settle on the other.
        return block.chainid == cachedChainId ? cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice The EIP-712 digest committee members sign for `award`.
    function hashAward(Award calldata award) public view returns (bytes32 digest) {
        bytes32 structHash = keccak256(
            abi.encode(
                AWARD_TYPEHASH,
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
        digest = keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    // ---------------------------------------------------------------- settlement

    /// @notice Settles a committee-signed award: the executor repays `repayAmount` of the account's
    /// debt, pays `premium` to the market's beneficiary, and receives the seized collateral.
    /// @dev The executor must have approved `repayAmount + premium` of the market's debt asset (fixed at
    /// registration) to this contract. Every signature must be a valid, distinct committee signature
    /// (65-byte r||s||v, low s), and there must be at least `threshold` of them. Checks, then the nonce
    /// bump, then interactions. On a flagged account the flag is then brought up to date (contract notes).
    /// @return seizedValue Value of the collateral the executor received, in debt units.
    function settle(Award calldata award, bytes[] calldata signatures)
        external
        nonReentrant
        returns (uint256 seizedValue)
    {
        (Market memory market, AccountState memory state) = _checkAward(award);
        _verifyCommittee(hashAward(award), signatures);

        IMarginMarket adapter = IMarginMarket(market.adapter);
        if (award.repayAmount == 0) revert ZeroRepay();
        // maxRepay is zero exactly when the account is not liquidatable (IMarginMarket).
        uint256 maxRepayAmount = adapter.maxRepay(award.account);
        if (maxRepayAmount == 0) revert AccountNotLiquidatable(award.account);
        if (award.repayAmount > maxRepayAmount) revert RepayAboveMax(award.repayAmount, maxRepayAmount);

        // The award is spent from here on, whatever the calls below do. (nonce < 2^128: it counts
        // liquidations.)
        // forge-lint: disable-next-line(unsafe-typecast)
        accountStates[award.marketId][award.account].nonce = uint128(award.nonce + 1);

        seizedValue = _liquidate(
            adapter, market.debtAsset, award.account, award.repayAmount, award.premium, market.beneficiary
        );
        if (state.flaggedAt != 0) {
            bool meaningful = !WadMath.mulLessThan(award.repayAmount, 1e18, maxRepayAmount, MEANINGFUL_REPAY_WAD);
            _refreshFlag(award.marketId, adapter, award.account, meaningful);
        }
        _emitSettled(award, seizedValue);
    }

    // ---------------------------------------------------------------- fallback ladder

    /// @notice Liquidates `account` without an award, once the ladder allows it (see the contract notes):
    /// the caller repays `repayAmount` (approved to this contract) and receives the seized collateral at
    /// the standard bonus. No premium. Consumes the account's current nonce. Works while the market is
    /// paused.
    function liquidateOpen(bytes32 marketId, address account, uint256 repayAmount)
        external
        nonReentrant
        returns (uint256 seizedValue)
    {
        Market memory market = _registeredMarket(marketId);
        if (repayAmount == 0) revert ZeroRepay();
        IMarginMarket adapter = IMarginMarket(market.adapter);
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = adapter.openLiquidationHealth(account);
        if (debtValue == 0 || collateralValue >= requirement) revert AccountNotLiquidatable(account);
        AccountState memory state = accountStates[marketId][account];
        if (!_isOpen(market, collateralValue, requirement, state.flaggedAt)) {
            revert AwardOnly(WadMath.mulDivDown(collateralValue, 1e18, requirement), state.flaggedAt);
        }
        uint256 maxRepayAmount = adapter.maxRepay(account);
        if (repayAmount > maxRepayAmount) revert RepayAboveMax(repayAmount, maxRepayAmount);

        uint256 nonce = state.nonce;
        accountStates[marketId][account].nonce = state.nonce + 1;
        seizedValue = _liquidate(adapter, market.debtAsset, account, repayAmount, 0, address(0));
        // The open path stays open while the account is unhealthy; only a restored account loses its flag.
        if (state.flaggedAt != 0) _refreshFlag(marketId, adapter, account, false);
        emit OpenLiquidated(marketId, account, msg.sender, nonce, repayAmount, seizedValue);
    }

    /// @notice Starts the grace period of an account that is below maintenance. Anyone may call; a
    /// second call while flagged changes nothing. Works while the market is paused.
    /// @return flaggedAt When the account was (or already had been) flagged.
    function flagUnhealthy(bytes32 marketId, address account) external returns (uint256 flaggedAt) {
        address adapter = _registeredMarket(marketId).adapter;
        if (!IMarginMarket(adapter).isLiquidatable(account)) revert AccountNotLiquidatable(account);
        AccountState storage state = accountStates[marketId][account];
        flaggedAt = state.flaggedAt;
        if (flaggedAt != 0) return flaggedAt;
        flaggedAt = block.timestamp;
        // casting to 'uint64' is safe because block.timestamp < 2^64
        // forge-lint: disable-next-line(unsafe-typecast)
        state.flaggedAt = uint64(flaggedAt);
        emit UnhealthyFlagged(marketId, account, flaggedAt);
    }

    /// @notice Removes the flag of an account that is healthy again, so a later dip starts a new grace
    /// period. Anyone may call.
    function clearUnhealthy(bytes32 marketId, address account) external {
        address adapter = _registeredMarket(marketId).adapter;
        if (IMarginMarket(adapter).isLiquidatable(account)) revert AccountStillUnhealthy(account);
        AccountState storage state = accountStates[marketId][account];
        if (state.flaggedAt == 0) return;
        state.flaggedAt = 0;
        emit UnhealthyCleared(marketId, account);
    }

    /// @notice Whether `liquidateOpen` would accept `account` now (liquidatable on the open-path
    /// valuation and past the award-only band), paused or not.
    function isOpenLiquidatable(bytes32 marketId, address account) external view returns (bool) {
        Market memory market = marketOf[marketId];
        if (market.adapter == address(0)) return false;
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) =
            IMarginMarket(market.adapter).openLiquidationHealth(account);
        if (debtValue == 0 || collateralValue >= requirement) return false;
        return _isOpen(market, collateralValue, requirement, accountStates[marketId][account].flaggedAt);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Everything about the award that needs no signature and no adapter call: cheap rejections first.
    function _checkAward(Award calldata award) private view returns (Market memory market, AccountState memory state) {
        if (block.timestamp > award.deadline) revert AwardExpired(award.deadline, block.timestamp);
        if (msg.sender != award.executor) revert NotExecutor(msg.sender, award.executor);

        market = _registeredMarket(award.marketId);
        if (market.paused) revert MarketIsPaused(award.marketId);

        state = accountStates[award.marketId][award.account];
        uint256 nonce = state.nonce;
        if (award.nonce != nonce) revert StaleNonce(award.nonce, nonce);
        bytes32 expectedIntentId = intentIdOf(award.marketId, award.account, nonce);
        if (award.intentId != expectedIntentId) revert IntentIdMismatch(award.intentId, expectedIntentId);
        if (award.premium < market.reservePremium) revert PremiumBelowReserve(award.premium, market.reservePremium);
    }

    function _registeredMarket(bytes32 marketId) private view returns (Market memory market) {
        market = marketOf[marketId];
        if (market.adapter == address(0)) revert UnknownMarket(marketId);
    }

    /// @dev Below the permissionless threshold (cross-multiplied exactly, so neither rounding nor an
    /// adapter's large numbers can open it early or revert), or flagged more than the grace period ago.
    function _isOpen(Market memory market, uint256 collateralValue, uint256 requirement, uint256 flaggedAt)
        private
        view
        returns (bool)
    {
        if (WadMath.mulLessThan(collateralValue, 1e18, market.permissionlessHealthWad, requirement)) return true;
        return flaggedAt != 0 && block.timestamp > flaggedAt + market.gracePeriod;
    }

    /// @dev After a liquidation of a flagged account: a restored account loses its flag; a still
    /// unhealthy one restarts its grace period if `restart` (a settle that repaid a meaningful share),
    /// and otherwise keeps it, so dust cannot hold the open path shut.
    function _refreshFlag(bytes32 marketId, IMarginMarket adapter, address account, bool restart) private {
        AccountState storage state = accountStates[marketId][account];
        if (!adapter.isLiquidatable(account)) {
            state.flaggedAt = 0;
            emit UnhealthyCleared(marketId, account);
        } else if (restart) {
            // forge-lint: disable-next-line(unsafe-typecast)
            state.flaggedAt = uint64(block.timestamp);
            emit UnhealthyFlagged(marketId, account, block.timestamp);
        }
    }

    /// @dev Pulls repay and premium of the registered `debtAsset` from msg.sender (the premium straight
    /// to the beneficiary), lets the adapter pull exactly the repay, sends the collateral to msg.sender,
    /// and leaves no allowance and no tokens behind.
    function _liquidate(
        IMarginMarket adapter,
        address debtAsset,
        address account,
        uint256 repayAmount,
        uint256 premium,
        address beneficiary
    ) private returns (uint256 seizedValue) {
        uint256 balanceBefore = IERC20Minimal(debtAsset).balanceOf(address(this));
        debtAsset.safeTransferFrom(msg.sender, address(this), repayAmount);
        if (premium > 0) debtAsset.safeTransferFrom(msg.sender, beneficiary, premium);

        debtAsset.safeApprove(address(adapter), repayAmount);
        seizedValue = adapter.liquidate(account, repayAmount, msg.sender);
        debtAsset.safeApprove(address(adapter), 0);

        // The adapter must take exactly the repay: anything left here would be stuck.
        uint256 balanceAfter = IERC20Minimal(debtAsset).balanceOf(address(this));
        if (balanceAfter != balanceBefore) revert AdapterDidNotPullRepay(balanceBefore, balanceAfter);
    }

    function _emitSettled(Award calldata award, uint256 seizedValue) private {
        emit Settled(
            award.intentId,
            award.marketId,
            award.account,
            award.nonce,
            award.executor,
            award.repayAmount,
            award.premium,
            seizedValue
        );
    }

    /// @dev Counts distinct committee signers over `digest`. Duplicates are caught with a bitmap over
    /// attester positions, so the check is linear and independent of signature order.
    function _verifyCommittee(bytes32 digest, bytes[] calldata signatures) private view {
        uint256 seen;
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = _recover(digest, signatures[i], i);
            uint256 slot = attesterSlot[signer];
            if (slot == 0) revert SignerNotAttester(i, signer);
            // forge-lint: disable-next-line(incorrect-shift)
            uint256 bit = 1 << (slot - 1); // slot - 1 < MAX_ATTESTERS = 256
            if (seen & bit != 0) revert DuplicateSigner(i, signer);
            seen |= bit;
        }
        if (signatures.length < threshold) revert TooFewSignatures(signatures.length, threshold);
    }

    function _recover(bytes32 digest, bytes calldata signature, uint256 index) private pure returns (address signer) {
        if (signature.length != 65) revert InvalidSignatureLength(index, signature.length);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > MAX_S || (v != 27 && v != 28)) revert InvalidSignature(index);
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature(index);
    }

    function _addAttester(address attester) private {
        if (attester == address(0)) revert ZeroAddress();
        if (attesterSlot[attester] != 0) revert AlreadyAttester(attester);
        if (attesterList.length == MAX_ATTESTERS) revert TooManyAttesters();
        attesterList.push(attester);
        attesterSlot[attester] = attesterList.length;
        emit AttesterAdded(attester);
    }

    function _setThreshold(uint256 newThreshold) private {
        if (newThreshold == 0 || newThreshold > attesterList.length) {
            revert InvalidThreshold(newThreshold, attesterList.length);
        }
        threshold = newThreshold;
        emit ThresholdChanged(newThreshold);
    }

    function _requireMarketAdmin(bytes32 marketId) private view {
        address adapter = marketOf[marketId].adapter;
        if (adapter == address(0)) revert UnknownMarket(marketId);
        address marketAdmin = IMarginMarket(adapter).admin();
        if (msg.sender != marketAdmin) revert OnlyMarketAdmin(msg.sender, marketAdmin);
    }

    function _toUint96(uint256 value) private pure returns (uint96) {
        if (value > type(uint96).max) revert ReservePremiumTooLarge(value);
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint96(value);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }
}
