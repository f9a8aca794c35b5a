// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {TwoStepOwnable} from "./access/TwoStepOwnable.sol";
import {WadMath} from "./libraries/WadMath.sol";

/// @dev Shared with the MarginEngine, which sizes its caps and reads the breaker's jump bit from them.
uint256 constant ORACLE_MAX_PRICE_WAD = 1e36;
uint256 constant ORACLE_FLAG_JUMP = 4;
// Feeds disagree beyond the deviation bound (shared with the engine's circuit breaker).
uint256 constant ORACLE_FLAG_DEVIATION = 2;

/// @title OracleRouter
/// @notice Turns two to four Chainlink-style feeds per asset into one price the margin engine can
/// trust, a realised-volatility estimate, and anomaly flags for the engine's circuit breaker. No
/// single feed sets the price, a broken feed is a down feed, and the volatility estimate depends on
/// the feeds' price paths in time only.
/// @dev Prices are WAD: units of account (the debt asset's, e.g. USD) per whole token of the asset,
/// whatever the token's decimals (the engine scales by them). Every rule below is evaluated the same
/// way by the views (`peek`, `price`, ...) and by `update`, which only persists what the views
/// compute, so a view and a transaction in the same block always agree.
///
/// Feeds. A feed is *valid* when its `latestRoundData` succeeds within `FEED_GAS_LIMIT` gas and returns
/// at least the five words of the tuple, its answer is positive and at most `MAX_PRICE_WAD` once scaled
/// to 18 decimals, and its round is neither unset, future-dated nor older than `maxStaleness`. Anything
/// else — a revert, no or short return data, a zero, negative or absurdly large answer, a feed burning
/// its gas or flooding return data — makes that feed *down* (`FLAG_FEED_DOWN`) and pricing continues
/// from the others; only 160 bytes are ever copied and no arithmetic on an answer can overflow. With no
/// valid feed there is no price (calls revert): acting on a broken price is worse than not acting.
///
/// Price, over the valid feeds sorted by price:
///  - three or more: the median (the mean of the middle two for four). One outlier can never move it
///    beyond the honest feeds' range; `FLAG_DEVIATION` is raised when the spread exceeds the bound.
///  - exactly two within `maxDeviationWad` of each other (max - min <= maxDeviation * min): their mean.
///  - exactly two disagreeing beyond the bound: the *lower*, the conservative choice for collateral (it
///    can never let an account borrow against an inflated quote, the Mango/Venus failure), and
///    `FLAG_DEVIATION`. Which feed is right cannot be known, so the router also reports the
///    *open-path price* (`peekForOpenPath`): with exactly two valid feeds it is the higher one. The
///    settlement's permissionless path values accounts at that price, so one feed alone — disagreeing,
///    or lying low within the bound — can move the auction path (where the committee acts) but never
///    opens the permissionless path on an account the other feed says is healthy.
///  - one (the others down): that feed, the defined fallback, and `FLAG_FEED_DOWN`.
/// The price is *corroborated* (`isCorroborated`) when two valid feeds within the bound of each other
/// bracket it: always for two agreeing feeds, for three or more when the median has an agreeing
/// neighbour; never for a single feed. The engine lets accounts take new risk (borrow, withdraw) only
/// on a corroborated price without a recent jump.
///
/// Anomaly flags (a bitmask): `FLAG_FEED_DOWN` some feed is invalid, `FLAG_DEVIATION` valid feeds
/// disagree beyond the bound, `FLAG_JUMP` the price moved more than `maxJumpWad` from the last recorded
/// observation, or such a jump was recorded less than `anomalyCooldown` seconds ago.
///
/// Volatility: a continuous-time EWMA of each feed's own squared returns, combined across feeds.
/// For feed f with rounds k (answer p_k at its `updatedAt` t_k, seconds), return r_k = |p_k - p_{k-1}|
/// / p_{k-1} (WAD, capped at `MAX_RETURN`), and time constant tau = `volatilityTimeConstant` seconds:
///   V_f(t_k) = lambda^(t_k - t_{k-1}) * V_f(t_{k-1}) + r_k^2 / tau,   lambda = 1 - 1/tau per second,
///   V_f(t)   = lambda^(t - t_k) * V_f(t_k)   for t after the feed's latest round,
/// i.e. V_f(t) = sum_k (r_k^2 / tau) * lambda^(t - t_k): the variance rate (WAD per second) of a random
/// walk, unbiased in steady state and weighting each move by its age (about e^(-age / tau)). Decay is
/// per second, not per observation: unchanged heartbeat rounds add nothing and decay nothing beyond
/// what time does. Each feed's state changes only on that feed's new round, at that round's time, so
/// the estimate is independent of who calls `update`, when or how often (as long as each round is
/// seen before the same feed publishes the next; the engine and keepers call `update` on every
/// action). The asset's variance rate V is the median of the valid feeds' V_f (three or more), the
/// lower of two, or the single one, so one feed moving inside the deviation bound cannot raise it.
/// The reported volatility is over `VOLATILITY_HORIZON` (one hour):
///   volatility = sqrt(V * VOLATILITY_HORIZON),  e.g. 0.01e18 = 1% per hour.
/// Decay rounds upward, so the estimate errs towards more margin.
///
/// Reconfiguration. The first `setAsset` of an asset applies at once (nothing can hold it yet). A
/// change to a live asset's feeds or rules could reprice every account holding it, so it is announced
/// (`AssetChangeScheduled`) and applies only `RECONFIGURATION_DELAY` later, through
/// `applyAssetChange` (anyone); the owner may cancel it until then.
contract OracleRouter is TwoStepOwnable {
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;

    uint256 public constant MIN_FEEDS = 2;
    uint256 public constant MAX_FEEDS = 4;
    /// @notice Horizon the reported volatility is scaled to.
    uint256 public constant VOLATILITY_HORIZON = 1 hours;
    /// @notice Ceiling on a configured initial volatility (1000% per hour); a larger value is a typo.
    uint256 public constant MAX_INITIAL_VOLATILITY = 10e18;
    /// @notice Returns are capped here (1000%) before squaring, which bounds the variance rate.
    uint256 public constant MAX_RETURN = 10e18;
    /// @notice Largest price (WAD, per whole token) a feed may report; a larger answer is a broken feed.
    /// Bounds every product the router and the engine form with a price.
    uint256 public constant MAX_PRICE_WAD = ORACLE_MAX_PRICE_WAD;
    /// @notice Gas each feed call gets. A call that fails with this much gas is the feed's fault; the
    /// router refuses to run with less, so a caller cannot starve one feed to make it look down.
    uint256 public constant FEED_GAS_LIMIT = 50_000;
    uint256 public constant MIN_VOLATILITY_TIME_CONSTANT = 1 minutes;
    uint256 public constant MAX_VOLATILITY_TIME_CONSTANT = 30 days;
    /// @notice Notice a live asset's reconfiguration is given before it applies.
    uint256 public constant RECONFIGURATION_DELAY = 2 days;

    uint256 public constant FLAG_FEED_DOWN = 1;
    uint256 public constant FLAG_DEVIATION = ORACLE_FLAG_DEVIATION;
    uint256 public constant FLAG_JUMP = ORACLE_FLAG_JUMP;

    /// @dev latestRoundData()
    bytes4 private constant LATEST_ROUND_DATA = 0xfeaf968c;
    /// @dev Gas kept back around each feed call for the caller's own work after it.
    uint256 private constant FEED_CALL_RESERVE = 5_000;

    /// @param maxStaleness A round older than this many seconds is invalid.
    /// @param anomalyCooldown Seconds a recorded jump keeps `FLAG_JUMP` raised.
    /// @param maxDeviationWad Largest spread between valid feeds, relative to the lowest (e.g. 0.02e18).
    /// @param maxJumpWad Largest move from the last recorded observation that is not an anomaly (e.g. 0.1e18).
    /// @param volatilityTimeConstant tau, seconds: the EWMA's memory (weights fall by e per tau; e.g. 3600).
    struct AssetConfig {
        uint32 maxStaleness;
        uint32 anomalyCooldown;
        uint64 maxDeviationWad;
        uint64 maxJumpWad;
        uint32 volatilityTimeConstant;
    }

    /// @dev One slot: the feed and the factor that scales its answer to 18 decimals.
    struct Feed {
        AggregatorV3Interface feed;
        uint96 scale;
    }

    /// @notice What the router recorded at the last observation (for jumps and for readers).
    /// @param priceWad The price at that observation.
    /// @param observedAt The newest valid feed round time at that observation.
    /// @param anomalyUntil `FLAG_JUMP` stays raised while block.timestamp < anomalyUntil.
    struct AssetState {
        uint128 priceWad;
        uint40 observedAt;
        uint40 anomalyUntil;
    }

    /// @notice One feed's part of the volatility estimate, as of its latest round seen.
    /// @param priceWad The feed's answer at that round, WAD.
    /// @param updatedAt That round's time.
    /// @param varianceRateWad V_f at `updatedAt`: EWMA variance of the feed's returns per second (WAD).
    struct FeedState {
        uint128 priceWad;
        uint40 updatedAt;
        uint88 varianceRateWad;
    }

    /// @notice A reconfiguration of a live asset, announced and waiting for its time.
    struct PendingChange {
        address[] feeds;
        AssetConfig config;
        uint256 initialVolatilityWad;
        uint256 effectiveAt;
    }

    /// @notice The result of reading an asset's feeds now.
    struct Observation {
        uint256 priceWad;
        uint256 openPathPriceWad;
        uint256 volatilityWad;
        uint256 flags;
        uint256 observedAt;
        bool corroborated;
        bool isNew;
        bool jumped;
    }

    event AssetConfigured(address indexed asset, address[] feeds, AssetConfig config, uint256 initialVolatilityWad);
    /// @notice A live asset's reconfiguration was announced; it applies from `effectiveAt`.
    event AssetChangeScheduled(
        address indexed asset, address[] feeds, AssetConfig config, uint256 initialVolatilityWad, uint256 effectiveAt
    );
    event AssetChangeCancelled(address indexed asset);
    /// @notice A new observation was recorded; the devnet report and nodes read volatility from here.
    event PriceObserved(address indexed asset, uint256 priceWad, uint256 volatilityWad, uint256 flags);

    error UnknownAsset(address asset);
    error NoValidPrice(address asset);
    error InvalidFeedCount(uint256 count);
    error InvalidFeed(address feed);
    error DuplicateFeed(address feed);
    error InvalidConfig();
    error FeedsNotLive(address asset);
    error NoPendingChange(address asset);
    error ChangeNotDue(address asset, uint256 effectiveAt);
    /// @notice Less gas left than a feed call is guaranteed; resend the transaction with more gas.
    error InsufficientGasForFeeds(uint256 gasLeft);

    mapping(address asset => Feed[]) private feeds;
    mapping(address asset => AssetConfig) public configOf;
    mapping(address asset => AssetState) public stateOf;
    /// @dev Parallel to `feeds[asset]`.
    mapping(address asset => FeedState[]) private feedStates;
    mapping(address asset => PendingChange) private pendingChanges;

    constructor(address owner_) TwoStepOwnable(owner_) {}

    // ---------------------------------------------------------------- configuration (owner)

    /// @notice Sets an asset's feeds and rules. For a new asset this applies at once and starts every
    /// feed's record from its current round; for a live one it is announced and applies after
    /// `RECONFIGURATION_DELAY` (see the contract notes). Every feed must be valid when the
    /// configuration applies, so a misconfigured feed fails then, not at the first liquidation.
    /// @param initialVolatilityWad Volatility over `VOLATILITY_HORIZON` to start the EWMA from.
    function setAsset(
        address asset,
        address[] calldata feedList,
        AssetConfig calldata config,
        uint256 initialVolatilityWad
    ) external onlyOwner {
        if (asset == address(0)) revert ZeroAddress();
        _validate(feedList, config, initialVolatilityWad);
        if (stateOf[asset].priceWad == 0) {
            _configure(asset, feedList, config, initialVolatilityWad);
            return;
        }
        // Fail now rather than in two days: every feed must already be readable and live.
        for (uint256 i = 0; i < feedList.length; ++i) {
            (bool valid,,) = _readFeed(feedList[i], _scaleOf(feedList[i]), config.maxStaleness);
            if (!valid) revert FeedsNotLive(asset);
        }
        uint256 effectiveAt = block.timestamp + RECONFIGURATION_DELAY;
        pendingChanges[asset] = PendingChange({
            feeds: feedList, config: config, initialVolatilityWad: initialVolatilityWad, effectiveAt: effectiveAt
        });
        emit AssetChangeScheduled(asset, feedList, config, initialVolatilityWad, effectiveAt);
    }

    /// @notice Applies an announced reconfiguration once its time has come. Anyone may call.
    function applyAssetChange(address asset) external {
        PendingChange memory change = pendingChanges[asset];
        if (change.effectiveAt == 0) revert NoPendingChange(asset);
        if (block.timestamp < change.effectiveAt) revert ChangeNotDue(asset, change.effectiveAt);
        delete pendingChanges[asset];
        _configure(asset, change.feeds, change.config, change.initialVolatilityWad);
    }

    /// @notice Withdraws an announced reconfiguration; the owner only.
    function cancelAssetChange(address asset) external onlyOwner {
        if (pendingChanges[asset].effectiveAt == 0) revert NoPendingChange(asset);
        delete pendingChanges[asset];
        emit AssetChangeCancelled(asset);
    }

    /// @notice The announced reconfiguration of `asset`, if any (`effectiveAt` zero: none).
    function pendingChangeOf(address asset)
        external
        view
        returns (address[] memory feedList, AssetConfig memory config, uint256 initialVolatilityWad, uint256 effectiveAt)
    {
        PendingChange storage change = pendingChanges[asset];
        return (change.feeds, change.config, change.initialVolatilityWad, change.effectiveAt);
    }

    // ---------------------------------------------------------------- reads

    /// @notice Price, volatility and anomaly flags as `update` would record them now.
    function peek(address asset) external view returns (uint256 priceWad, uint256 volatilityWad, uint256 flags) {
        (Observation memory observation,,) = _observe(asset);
        return (observation.priceWad, observation.volatilityWad, observation.flags);
    }

    /// @notice Like `peek`, but with the price the permissionless (open) liquidation path may act on:
    /// the higher of exactly two valid feeds, otherwise the same price (see the contract notes).
    function peekForOpenPath(address asset)
        external
        view
        returns (uint256 priceWad, uint256 volatilityWad, uint256 flags)
    {
        (Observation memory observation,,) = _observe(asset);
        return (observation.openPathPriceWad, observation.volatilityWad, observation.flags);
    }

    /// @notice Records the current observation (each feed's new round, and the price if any feed has a
    /// new round or a jump must start its cooldown) and returns the same values as `peek`.
    /// Permissionless: the engine calls it on every action that reads a price, and keepers may call it
    /// after each feed round; when or how often it is called does not change the volatility estimate.
    function update(address asset) external returns (uint256 priceWad, uint256 volatilityWad, uint256 flags) {
        (Observation memory observation, FeedState[] memory next, bool[] memory changed) = _observe(asset);
        FeedState[] storage stored = feedStates[asset];
        for (uint256 i = 0; i < changed.length; ++i) {
            if (changed[i]) stored[i] = next[i];
        }
        if (observation.isNew || observation.jumped) {
            AssetState storage state = stateOf[asset];
            state.priceWad = _toUint128(observation.priceWad);
            // casting to 'uint40' is safe because observedAt <= block.timestamp
            // forge-lint: disable-next-line(unsafe-typecast)
            state.observedAt = uint40(observation.observedAt);
            if (observation.jumped) {
                // forge-lint: disable-next-line(unsafe-typecast)
                state.anomalyUntil = uint40(block.timestamp + configOf[asset].anomalyCooldown);
            }
            emit PriceObserved(asset, observation.priceWad, observation.volatilityWad, observation.flags);
        }
        return (observation.priceWad, observation.volatilityWad, observation.flags);
    }

    function price(address asset) external view returns (uint256) {
        (Observation memory observation,,) = _observe(asset);
        return observation.priceWad;
    }

    /// @notice Realised volatility over `VOLATILITY_HORIZON`, WAD (0.01e18 = 1% per hour).
    function volatility(address asset) external view returns (uint256) {
        (Observation memory observation,,) = _observe(asset);
        return observation.volatilityWad;
    }

    /// @notice The anomaly bitmask; zero means the price is sound.
    function anomalyFlags(address asset) external view returns (uint256) {
        (Observation memory observation,,) = _observe(asset);
        return observation.flags;
    }

    /// @notice Whether two valid feeds that agree within the bound bracket the price (see the contract
    /// notes): a price the engine may lend against.
    function isCorroborated(address asset) external view returns (bool) {
        (Observation memory observation,,) = _observe(asset);
        return observation.corroborated;
    }

    function feedsOf(address asset) external view returns (address[] memory list) {
        Feed[] storage configured = feeds[asset];
        list = new address[](configured.length);
        for (uint256 i = 0; i < configured.length; ++i) {
            list[i] = address(configured[i].feed);
        }
    }

    /// @notice The volatility record of the `index`th feed of `asset`, as of its latest round seen.
    function feedStateOf(address asset, uint256 index) external view returns (FeedState memory) {
        return feedStates[asset][index];
    }

    // ---------------------------------------------------------------- internals

    function _validate(address[] memory feedList, AssetConfig memory config, uint256 initialVolatilityWad)
        private
        pure
    {
        if (feedList.length < MIN_FEEDS || feedList.length > MAX_FEEDS) revert InvalidFeedCount(feedList.length);
        if (
            config.maxStaleness == 0 || config.maxDeviationWad == 0 || config.maxDeviationWad >= WAD
                || config.maxJumpWad == 0 || config.maxJumpWad > WAD
                || config.volatilityTimeConstant < MIN_VOLATILITY_TIME_CONSTANT
                || config.volatilityTimeConstant > MAX_VOLATILITY_TIME_CONSTANT
                || initialVolatilityWad > MAX_INITIAL_VOLATILITY
        ) revert InvalidConfig();
        for (uint256 i = 0; i < feedList.length; ++i) {
            if (feedList[i] == address(0)) revert InvalidFeed(address(0));
            for (uint256 j = 0; j < i; ++j) {
                if (feedList[j] == feedList[i]) revert DuplicateFeed(feedList[i]);
            }
        }
    }

    /// @dev Installs feeds and rules and starts every feed's record from its current round, with the
    /// variance rate of `initialVolatilityWad`.
    function _configure(
        address asset,
        address[] memory feedList,
        AssetConfig memory config,
        uint256 initialVolatilityWad
    ) private {
        delete feeds[asset];
        delete feedStates[asset];
        uint256 initialVariance = initialVolatilityWad.mulWadUp(initialVolatilityWad).mulDivUp(1, VOLATILITY_HORIZON);
        uint256[] memory prices = new uint256[](feedList.length);
        uint256 newest;
        for (uint256 i = 0; i < feedList.length; ++i) {
            address feed = feedList[i];
            uint256 scale = _scaleOf(feed);
            (bool valid, uint256 priceWad, uint256 updatedAt) = _readFeed(feed, scale, config.maxStaleness);
            if (!valid) revert FeedsNotLive(asset);
            prices[i] = priceWad;
            if (updatedAt > newest) newest = updatedAt;
            // casting to 'uint96' is safe because decimals <= 18, so the scale is at most 1e18 < 2^96
            // forge-lint: disable-next-line(unsafe-typecast)
            feeds[asset].push(Feed({feed: AggregatorV3Interface(feed), scale: uint96(scale)}));
            feedStates[asset].push(
                FeedState({
                    priceWad: _toUint128(priceWad),
                    // casting to 'uint40' is safe because updatedAt <= block.timestamp for a valid round
                    // forge-lint: disable-next-line(unsafe-typecast)
                    updatedAt: uint40(updatedAt),
                    varianceRateWad: _toUint88(initialVariance)
                })
            );
        }
        configOf[asset] = config;
        (uint256 aggregatePriceWad,,,) = _aggregate(prices, feedList.length, config);
        // casting to 'uint40' is safe because newest <= block.timestamp
        // forge-lint: disable-next-line(unsafe-typecast)
        stateOf[asset] = AssetState({priceWad: _toUint128(aggregatePriceWad), observedAt: uint40(newest), anomalyUntil: 0});
        emit AssetConfigured(asset, feedList, config, initialVolatilityWad);
    }

    /// @dev Every feed read now (memory only): valid prices and variance rates (first `validCount`
    /// entries), each feed's record advanced to its current round (`changed[i]` when feed i has a round
    /// newer than the one recorded), the newest valid round time, and `FLAG_FEED_DOWN`.
    struct Reading {
        uint256[] prices;
        uint256[] variances;
        FeedState[] next;
        bool[] changed;
        uint256 validCount;
        uint256 newest;
        uint256 flags;
    }

    /// @dev The factor that scales a feed's answers to 18 decimals; feeds with more decimals are refused.
    function _scaleOf(address feed) private view returns (uint256) {
        uint8 decimals = AggregatorV3Interface(feed).decimals();
        if (decimals > 18) revert InvalidFeed(feed);
        return 10 ** (18 - decimals);
    }

    /// @dev Reads every feed now: the observation, and each feed's record advanced to its current round.
    function _observe(address asset)
        private
        view
        returns (Observation memory observation, FeedState[] memory next, bool[] memory changed)
    {
        AssetState memory state = stateOf[asset];
        if (state.priceWad == 0) revert UnknownAsset(asset);
        AssetConfig memory config = configOf[asset];
        Reading memory reading = _readAll(asset, config);
        if (reading.validCount == 0) revert NoValidPrice(asset);
        next = reading.next;
        changed = reading.changed;

        uint256 aggregateFlags;
        (observation.priceWad, observation.openPathPriceWad, observation.corroborated, aggregateFlags) =
            _aggregate(reading.prices, reading.validCount, config);
        observation.flags = reading.flags | aggregateFlags;

        uint256 previous = state.priceWad;
        uint256 move =
            observation.priceWad > previous ? observation.priceWad - previous : previous - observation.priceWad;
        if (move * WAD > uint256(config.maxJumpWad) * previous) {
            observation.jumped = true;
            observation.flags |= FLAG_JUMP;
        }
        if (block.timestamp < state.anomalyUntil) observation.flags |= FLAG_JUMP;

        observation.isNew = reading.newest > state.observedAt;
        observation.observedAt = observation.isNew ? reading.newest : state.observedAt;
        uint256 varianceRate = _combine(reading.variances, reading.validCount);
        observation.volatilityWad = WadMath.sqrt(varianceRate * VOLATILITY_HORIZON * WAD);
    }

    function _readAll(address asset, AssetConfig memory config) private view returns (Reading memory reading) {
        Feed[] storage configured = feeds[asset];
        FeedState[] storage records = feedStates[asset];
        uint256 count = configured.length;
        reading.prices = new uint256[](count);
        reading.variances = new uint256[](count);
        reading.next = new FeedState[](count);
        reading.changed = new bool[](count);
        for (uint256 i = 0; i < count; ++i) {
            Feed memory feed = configured[i];
            (bool valid, uint256 priceWad, uint256 updatedAt) =
                _readFeed(address(feed.feed), feed.scale, config.maxStaleness);
            if (!valid) {
                reading.flags |= FLAG_FEED_DOWN;
                continue;
            }
            FeedState memory record = records[i];
            if (updatedAt > record.updatedAt) {
                record = _advance(record, priceWad, updatedAt, config.volatilityTimeConstant);
                reading.next[i] = record;
                reading.changed[i] = true;
            }
            uint256 index = reading.validCount;
            reading.prices[index] = priceWad;
            reading.variances[index] =
                _decay(record.varianceRateWad, block.timestamp - record.updatedAt, config.volatilityTimeConstant);
            reading.validCount = index + 1;
            if (updatedAt > reading.newest) reading.newest = updatedAt;
        }
    }

    /// @dev The feed's record after its new round (price `priceWad` at `updatedAt`), per the EWMA.
    function _advance(FeedState memory record, uint256 priceWad, uint256 updatedAt, uint256 timeConstant)
        private
        pure
        returns (FeedState memory)
    {
        uint256 previous = record.priceWad;
        uint256 sample;
        if (previous != 0) {
            uint256 move = priceWad > previous ? priceWad - previous : previous - priceWad;
            uint256 returnWad = WadMath.min(move.mulDivUp(WAD, previous), MAX_RETURN);
            sample = returnWad.mulWadUp(returnWad).mulDivUp(1, timeConstant);
        }
        uint256 variance = _decay(record.varianceRateWad, updatedAt - record.updatedAt, timeConstant) + sample;
        return FeedState({
            priceWad: _toUint128(priceWad),
            // casting to 'uint40' is safe because updatedAt <= block.timestamp for a valid round
            // forge-lint: disable-next-line(unsafe-typecast)
            updatedAt: uint40(updatedAt),
            varianceRateWad: _toUint88(variance)
        });
    }

    /// @dev value * lambda^elapsed with lambda = 1 - 1/timeConstant, rounded up. Beyond 64 time
    /// constants the factor is below e^-64: nothing an 88-bit value keeps.
    function _decay(uint256 value, uint256 elapsed, uint256 timeConstant) private pure returns (uint256) {
        if (value == 0 || elapsed == 0) return value;
        if (elapsed >= 64 * timeConstant) return 0;
        uint256 lambda = WAD - WAD / timeConstant;
        return value.mulWadUp(_powWadUp(lambda, elapsed));
    }

    /// @dev base^exponent for a WAD base <= 1, by squaring, each step rounded up.
    function _powWadUp(uint256 base, uint256 exponent) private pure returns (uint256 result) {
        result = WAD;
        while (exponent != 0) {
            if (exponent & 1 != 0) result = result.mulWadUp(base);
            exponent >>= 1;
            if (exponent != 0) base = base.mulWadUp(base);
        }
    }

    /// @dev Median of the first `count` variance rates for three or more, the lower of two, or the one.
    function _combine(uint256[] memory variances, uint256 count) private pure returns (uint256) {
        _sort(variances, count);
        if (count < 3) return variances[0];
        uint256 middle = count / 2;
        return count % 2 == 1 ? variances[middle] : (variances[middle - 1] + variances[middle] + 1) / 2;
    }

    /// @dev Reads one feed's latest round with bounded gas and bounded return data; never reverts on the
    /// feed's account. Valid means: the call succeeded, returned at least five words, a positive answer
    /// no larger than MAX_PRICE_WAD once scaled, and a round time in (now - maxStaleness, now].
    function _readFeed(address feed, uint256 scale, uint256 maxStaleness)
        private
        view
        returns (bool valid, uint256 priceWad, uint256 updatedAt)
    {
        // Enough gas left that the feed receives all of FEED_GAS_LIMIT (EIP-150 keeps back 1/64), so a
        // failure below is the feed's own, never the caller's choice of gas limit.
        uint256 gasLeft = gasleft();
        if (gasLeft < FEED_GAS_LIMIT + FEED_GAS_LIMIT / 63 + FEED_CALL_RESERVE) revert InsufficientGasForFeeds(gasLeft);
        bool success;
        uint256 answerWord;
        uint256 updatedWord;
        bytes4 selector = LATEST_ROUND_DATA;
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            mstore(buffer, selector)
            success := staticcall(FEED_GAS_LIMIT, feed, buffer, 4, buffer, 160)
            if lt(returndatasize(), 160) { success := 0 }
            answerWord := mload(add(buffer, 32))
            updatedWord := mload(add(buffer, 96))
        }
        if (!success) return (false, 0, 0);
        // A positive int256 answer is its uint256 word below 2^255; the bound excludes the rest.
        if (answerWord == 0 || answerWord > MAX_PRICE_WAD / scale) return (false, 0, 0);
        if (updatedWord == 0 || updatedWord > block.timestamp || block.timestamp - updatedWord > maxStaleness) {
            return (false, 0, 0);
        }
        return (true, answerWord * scale, updatedWord);
    }

    /// @dev Sorts the valid prices (at most MAX_FEEDS) and applies the rules in the contract notes.
    function _aggregate(uint256[] memory prices, uint256 validCount, AssetConfig memory config)
        private
        pure
        returns (uint256 priceWad, uint256 openPathPriceWad, bool corroborated, uint256 flags)
    {
        _sort(prices, validCount);
        uint256 lowest = prices[0];
        uint256 highest = prices[validCount - 1];
        uint256 deviation = config.maxDeviationWad;
        bool disagree = !_agree(lowest, highest, deviation);
        if (disagree) flags = FLAG_DEVIATION;
        if (validCount == 1) return (lowest, lowest, false, flags);
        if (validCount == 2) {
            if (disagree) return (lowest, highest, false, flags);
            return ((lowest + highest) / 2, highest, true, flags);
        }
        uint256 middle = validCount / 2;
        if (validCount % 2 == 1) {
            priceWad = prices[middle];
            corroborated = _agree(prices[middle - 1], priceWad, deviation) || _agree(priceWad, prices[middle + 1], deviation);
        } else {
            priceWad = (prices[middle - 1] + prices[middle]) / 2;
            corroborated = _agree(prices[middle - 1], prices[middle], deviation);
        }
        openPathPriceWad = priceWad;
    }

    /// @dev low <= high within the deviation bound (prices <= MAX_PRICE_WAD, so no overflow).
    function _agree(uint256 low, uint256 high, uint256 deviationWad) private pure returns (bool) {
        return (high - low) * WAD <= deviationWad * low;
    }

    /// @dev Insertion sort of the first `count` entries (count <= MAX_FEEDS).
    function _sort(uint256[] memory values, uint256 count) private pure {
        for (uint256 i = 1; i < count; ++i) {
            uint256 key = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > key) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = key;
        }
    }

    function _toUint128(uint256 value) private pure returns (uint128) {
        if (value > type(uint128).max) revert InvalidConfig();
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint128(value);
    }

    /// @dev Variance rates stay far below 2^88 (at most MAX_RETURN^2 per second); saturate regardless.
    function _toUint88(uint256 value) private pure returns (uint88) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return value > type(uint88).max ? type(uint88).max : uint88(value);
    }
}
