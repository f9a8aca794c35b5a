// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {TwoStepOwnable} from "./access/TwoStepOwnable.sol";
import {WadMath} from "./libraries/WadMath.sol";

/// @title OracleRouter
/// @notice Turns two or more Chainlink-style feeds per asset into one price the margin engine can
/// trust, a realised-volatility estimate, and an anomaly flag for the engine's circuit breaker.
/// @dev Prices are WAD: debt units per 1e18 units of the asset. Every rule below is evaluated the same
/// way by the views (`peek`, `price`, ...) and by `update`, which only persists what the views compute,
/// so a view and a transaction in the same block always agree.
///
/// Price. A feed is *valid* when its answer is positive and its round is neither unset, future-dated nor
/// older than `maxStaleness`. With no valid feed there is no price (calls revert): acting on a broken
/// price is worse than not acting. Otherwise:
///  - all valid feeds within `maxDeviationWad` of each other (max - min <= maxDeviation * min): the median
///    (the mean of the middle two for an even count);
///  - valid feeds disagreeing beyond the bound: the *lowest* valid price, the conservative choice for
///    collateral (it can never let an account borrow against an inflated quote, the Mango/Venus failure);
///  - one valid feed (the others stale or broken): that feed, the defined fallback.
///
/// Anomaly flags (a bitmask; any bit trips the engine's breaker): `FLAG_FEED_DOWN` some feed is invalid,
/// `FLAG_DEVIATION` valid feeds disagree beyond the bound, `FLAG_JUMP` the price moved more than
/// `maxJumpWad` from the last recorded observation, or such a jump was recorded less than
/// `anomalyCooldown` seconds ago.
///
/// Volatility. An EWMA of the variance *rate* (per second) of simple returns between observations:
///   r = |p - p_prev| / p_prev,  dt = max(1, t - t_prev) seconds (feed `updatedAt` times),
///   varianceRate' = lambda * varianceRate + (1 - lambda) * r^2 / dt,
/// updated once per new observation (a feed round newer than the last one recorded). Dividing by dt
/// makes the estimate independent of how often feeds update (a random walk gives the same rate from
/// one-second or one-hour rounds). The reported volatility is over `VOLATILITY_HORIZON` (one hour):
///   volatility = sqrt(varianceRate * VOLATILITY_HORIZON),  e.g. 0.01e18 = 1% per hour.
/// Rounding is upward, so the estimate errs towards more margin.
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

    uint256 public constant FLAG_FEED_DOWN = 1;
    uint256 public constant FLAG_DEVIATION = 2;
    uint256 public constant FLAG_JUMP = 4;

    /// @param maxStaleness A round older than this many seconds is invalid.
    /// @param anomalyCooldown Seconds a recorded jump keeps `FLAG_JUMP` raised.
    /// @param maxDeviationWad Largest spread between valid feeds, relative to the lowest (e.g. 0.02e18).
    /// @param maxJumpWad Largest move from the last recorded observation that is not an anomaly (e.g. 0.1e18).
    /// @param ewmaDecayWad lambda, the weight of the previous estimate per observation (e.g. 0.94e18).
    struct AssetConfig {
        uint32 maxStaleness;
        uint32 anomalyCooldown;
        uint64 maxDeviationWad;
        uint64 maxJumpWad;
        uint64 ewmaDecayWad;
    }

    /// @dev One slot: the feed and the factor that scales its answer to 18 decimals.
    struct Feed {
        AggregatorV3Interface feed;
        uint96 scale;
    }

    /// @notice What the router recorded at the last observation.
    /// @param priceWad The price at that observation.
    /// @param observedAt The newest valid feed round time at that observation.
    /// @param anomalyUntil `FLAG_JUMP` stays raised while block.timestamp < anomalyUntil.
    /// @param varianceRateWad EWMA variance of returns per second (WAD).
    struct AssetState {
        uint128 priceWad;
        uint40 observedAt;
        uint40 anomalyUntil;
        uint128 varianceRateWad;
    }

    /// @notice The result of reading an asset's feeds now.
    struct Observation {
        uint256 priceWad;
        uint256 volatilityWad;
        uint256 flags;
        uint256 observedAt;
        uint256 varianceRateWad;
        bool isNew;
        bool jumped;
    }

    event AssetConfigured(address indexed asset, address[] feeds, AssetConfig config, uint256 initialVolatilityWad);
    /// @notice A new observation was recorded; the devnet report and nodes read volatility from here.
    event PriceObserved(address indexed asset, uint256 priceWad, uint256 volatilityWad, uint256 flags);

    error UnknownAsset(address asset);
    error NoValidPrice(address asset);
    error InvalidFeedCount(uint256 count);
    error InvalidFeed(address feed);
    error DuplicateFeed(address feed);
    error InvalidConfig();
    error FeedsNotLive(address asset);

    mapping(address asset => Feed[]) private feeds;
    mapping(address asset => AssetConfig) public configOf;
    mapping(address asset => AssetState) public stateOf;

    constructor(address owner_) TwoStepOwnable(owner_) {}

    // ---------------------------------------------------------------- configuration (owner)

    /// @notice Sets (or replaces) an asset's feeds and rules and restarts its record from the current
    /// price. Every feed must be valid at configuration time, so a misconfigured feed fails here, not
    /// at the first liquidation.
    /// @param initialVolatilityWad Volatility over `VOLATILITY_HORIZON` to start the EWMA from.
    function setAsset(
        address asset,
        address[] calldata feedList,
        AssetConfig calldata config,
        uint256 initialVolatilityWad
    ) external onlyOwner {
        if (asset == address(0)) revert ZeroAddress();
        if (feedList.length < MIN_FEEDS || feedList.length > MAX_FEEDS) revert InvalidFeedCount(feedList.length);
        if (
            config.maxStaleness == 0 || config.maxDeviationWad == 0 || config.maxDeviationWad >= WAD
                || config.maxJumpWad == 0 || config.maxJumpWad > WAD || config.ewmaDecayWad >= WAD
                || initialVolatilityWad > MAX_INITIAL_VOLATILITY
        ) revert InvalidConfig();

        delete feeds[asset];
        for (uint256 i = 0; i < feedList.length; ++i) {
            address feed = feedList[i];
            if (feed == address(0)) revert InvalidFeed(feed);
            for (uint256 j = 0; j < i; ++j) {
                if (feedList[j] == feed) revert DuplicateFeed(feed);
            }
            uint8 decimals = AggregatorV3Interface(feed).decimals();
            if (decimals > 18) revert InvalidFeed(feed);
            // casting to 'uint96' is safe because decimals <= 18, so the scale is at most 1e18 < 2^96
            // forge-lint: disable-next-line(unsafe-typecast)
            feeds[asset].push(Feed({feed: AggregatorV3Interface(feed), scale: uint96(10 ** (18 - decimals))}));
        }
        configOf[asset] = config;

        (uint256[] memory prices, uint256 validCount, uint256 newest, uint256 flags) = _readFeeds(asset, config);
        if (validCount == 0) revert NoValidPrice(asset);
        if (flags & FLAG_FEED_DOWN != 0) revert FeedsNotLive(asset);
        (uint256 priceWad,) = _aggregate(prices, validCount, config);
        stateOf[asset] = AssetState({
            priceWad: _toUint128(priceWad),
            // casting to 'uint40' is safe because newest <= block.timestamp
            // forge-lint: disable-next-line(unsafe-typecast)
            observedAt: uint40(newest),
            anomalyUntil: 0,
            varianceRateWad: _toUint128(initialVolatilityWad.mulWadUp(initialVolatilityWad) / VOLATILITY_HORIZON)
        });
        emit AssetConfigured(asset, feedList, config, initialVolatilityWad);
    }

    // ---------------------------------------------------------------- reads

    /// @notice Price, volatility and anomaly flags as `update` would record them now.
    function peek(address asset) external view returns (uint256 priceWad, uint256 volatilityWad, uint256 flags) {
        Observation memory observation = _observe(asset);
        return (observation.priceWad, observation.volatilityWad, observation.flags);
    }

    /// @notice Records the current observation (if the feeds have a newer round, or a jump must start
    /// its cooldown) and returns the same values as `peek`. Permissionless: the engine calls it on every
    /// action that reads a price, and keepers may call it after each feed round.
    function update(address asset) external returns (uint256 priceWad, uint256 volatilityWad, uint256 flags) {
        Observation memory observation = _observe(asset);
        if (observation.isNew || observation.jumped) {
            AssetState storage state = stateOf[asset];
            state.priceWad = _toUint128(observation.priceWad);
            state.observedAt = uint40(observation.observedAt);
            state.varianceRateWad = _toUint128(observation.varianceRateWad);
            if (observation.jumped) state.anomalyUntil = uint40(block.timestamp + configOf[asset].anomalyCooldown);
            emit PriceObserved(asset, observation.priceWad, observation.volatilityWad, observation.flags);
        }
        return (observation.priceWad, observation.volatilityWad, observation.flags);
    }

    function price(address asset) external view returns (uint256) {
        return _observe(asset).priceWad;
    }

    /// @notice Realised volatility over `VOLATILITY_HORIZON`, WAD (0.01e18 = 1% per hour).
    function volatility(address asset) external view returns (uint256) {
        return _observe(asset).volatilityWad;
    }

    /// @notice The anomaly bitmask; zero means the price is sound.
    function anomalyFlags(address asset) external view returns (uint256) {
        return _observe(asset).flags;
    }

    function feedsOf(address asset) external view returns (address[] memory list) {
        Feed[] storage configured = feeds[asset];
        list = new address[](configured.length);
        for (uint256 i = 0; i < configured.length; ++i) {
            list[i] = address(configured[i].feed);
        }
    }

    // ---------------------------------------------------------------- internals

    function _observe(address asset) private view returns (Observation memory observation) {
        AssetState memory state = stateOf[asset];
        if (state.priceWad == 0) revert UnknownAsset(asset);
        AssetConfig memory config = configOf[asset];

        (uint256[] memory prices, uint256 validCount, uint256 newest, uint256 flags) = _readFeeds(asset, config);
        if (validCount == 0) revert NoValidPrice(asset);
        uint256 aggregateFlags;
        (observation.priceWad, aggregateFlags) = _aggregate(prices, validCount, config);
        flags |= aggregateFlags;

        uint256 previous = state.priceWad;
        uint256 move =
            observation.priceWad > previous ? observation.priceWad - previous : previous - observation.priceWad;
        if (move * WAD > uint256(config.maxJumpWad) * previous) {
            observation.jumped = true;
            flags |= FLAG_JUMP;
        }
        if (block.timestamp < state.anomalyUntil) flags |= FLAG_JUMP;

        observation.varianceRateWad = state.varianceRateWad;
        observation.observedAt = state.observedAt;
        if (newest > state.observedAt) {
            observation.isNew = true;
            observation.observedAt = newest;
            uint256 elapsed = newest - state.observedAt;
            uint256 returnWad = WadMath.min(move.mulDivUp(WAD, previous), MAX_RETURN);
            uint256 sampleRate = returnWad.mulWadUp(returnWad).mulDivUp(1, elapsed);
            uint256 decay = config.ewmaDecayWad;
            observation.varianceRateWad =
                uint256(state.varianceRateWad).mulWadUp(decay) + sampleRate.mulWadUp(WAD - decay);
        }
        observation.volatilityWad = WadMath.sqrt(observation.varianceRateWad * VOLATILITY_HORIZON * WAD);
        observation.flags = flags;
    }

    /// @dev Valid answers scaled to WAD (first `validCount` entries), the newest valid round time, and
    /// `FLAG_FEED_DOWN` if any feed is invalid or its call reverts.
    function _readFeeds(address asset, AssetConfig memory config)
        private
        view
        returns (uint256[] memory prices, uint256 validCount, uint256 newest, uint256 flags)
    {
        Feed[] storage configured = feeds[asset];
        uint256 count = configured.length;
        prices = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            Feed memory feed = configured[i];
            try feed.feed.latestRoundData() returns (uint80, int256 answer, uint256, uint256 updatedAt, uint80) {
                if (
                    answer <= 0 || updatedAt == 0 || updatedAt > block.timestamp
                        || block.timestamp - updatedAt > config.maxStaleness
                ) {
                    flags |= FLAG_FEED_DOWN;
                    continue;
                }
                // casting to 'uint256' is safe because answer > 0 was checked above
                // forge-lint: disable-next-line(unsafe-typecast)
                prices[validCount++] = uint256(answer) * feed.scale;
                if (updatedAt > newest) newest = updatedAt;
            } catch {
                flags |= FLAG_FEED_DOWN;
            }
        }
    }

    /// @dev Sorts the valid prices (at most MAX_FEEDS) and applies the median / lowest-on-disagreement rule.
    function _aggregate(uint256[] memory prices, uint256 validCount, AssetConfig memory config)
        private
        pure
        returns (uint256 priceWad, uint256 flags)
    {
        for (uint256 i = 1; i < validCount; ++i) {
            uint256 key = prices[i];
            uint256 j = i;
            while (j > 0 && prices[j - 1] > key) {
                prices[j] = prices[j - 1];
                --j;
            }
            prices[j] = key;
        }
        uint256 lowest = prices[0];
        if ((prices[validCount - 1] - lowest) * WAD > uint256(config.maxDeviationWad) * lowest) {
            return (lowest, FLAG_DEVIATION);
        }
        uint256 middle = validCount / 2;
        priceWad = validCount % 2 == 1 ? prices[middle] : (prices[middle - 1] + prices[middle]) / 2;
    }

    function _toUint128(uint256 value) private pure returns (uint128) {
        if (value > type(uint128).max) revert InvalidConfig();
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint128(value);
    }
}
