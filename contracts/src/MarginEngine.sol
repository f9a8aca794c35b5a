// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarginMarket} from "./interfaces/IMarginMarket.sol";
import {IERC20Minimal} from "./interfaces/IERC20Minimal.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {SafeTransferLib} from "./libraries/SafeTransferLib.sol";
import {WadMath} from "./libraries/WadMath.sol";

/// @title MarginEngine
/// @notice The reference margin protocol the devnet runs (first version): accounts post one
/// collateral asset and borrow one debt asset from the engine's own liquidity. Liquidation runs
/// only through the Backstop settlement contract, so the premium an auction recaptures goes to the
/// protocol instead of to a gas race.
/// @dev Walking-skeleton scope: one collateral, a single Chainlink-style feed. Later versions add
/// several collaterals, volatility-adjusted haircuts, an oracle router, an insurance fund and the
/// open fallback path (see DESIGN.md). Rounding always favours the protocol: values an account is
/// credited with round down, requirements round up.
contract MarginEngine is IMarginMarket {
    using SafeTransferLib for address;
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;

    /// @notice Borrow and withdraw must leave the account this far above maintenance, so a position
    /// opened at the limit is not liquidatable one tick later.
    uint256 public constant INITIAL_MARGIN_BUFFER_WAD = 0.15e18;
    /// @notice A feed whose latest round is older than this is treated as broken, not as a price.
    uint256 public constant MAX_PRICE_AGE = 1 hours;
    /// @notice Below this much remaining debt a partial liquidation would leave an account nobody
    /// can profitably liquidate again, so the whole debt may be repaid at once.
    uint256 public constant DUST_DEBT = 1e15;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event Borrowed(address indexed account, uint256 amount);
    event Repaid(address indexed account, uint256 amount);
    event Liquidated(
        address indexed account,
        address indexed receiver,
        uint256 repayAmount,
        uint256 seizedCollateral,
        uint256 seizedValue
    );
    /// @notice Debt left on an account with no collateral, written off to `badDebt` rather than
    /// hidden in an account that can never be liquidated again.
    event BadDebtRealized(address indexed account, uint256 amount);
    event SettlementSet(address indexed settlement);

    error ZeroAddress();
    error ZeroAmount();
    error InvalidRiskParameters();
    error OnlyAdmin();
    error OnlySettlement();
    error SettlementAlreadySet();
    error UnknownAsset(address asset);
    error InvalidPrice(int256 answer);
    error StalePrice(uint256 updatedAt, uint256 nowTimestamp);
    error InsufficientCollateral(address account, uint256 available, uint256 requested);
    error RepayExceedsDebt(address account, uint256 debt, uint256 repayAmount);
    error InsufficientLiquidity(uint256 available, uint256 requested);
    error BelowInitialMargin(address account, uint256 collateralValue, uint256 requiredValue);
    error NotLiquidatable(address account);
    error RepayAboveMax(uint256 repayAmount, uint256 maxRepayAmount);

    address public immutable admin;
    address public immutable debtAsset;
    address public immutable collateralAsset;
    AggregatorV3Interface public immutable priceFeed;
    /// @notice Requirement per unit of debt below which an account is liquidatable (e.g. 1.10e18).
    uint256 public immutable maintenanceRatioWad;
    /// @notice Requirement per unit of debt that borrow and withdraw must keep (maintenance + buffer).
    uint256 public immutable initialMarginRatioWad;
    /// @notice Extra collateral value a liquidator seizes per unit repaid (e.g. 0.05e18 = 5%).
    uint256 public immutable liquidationBonusWad;
    /// @notice Share of the debt one liquidation may repay (e.g. 0.5e18).
    uint256 public immutable closeFactorWad;
    uint256 private immutable priceScale;

    /// @notice The only address allowed to liquidate; set once by the admin after deployment.
    address public settlement;
    /// @notice Total debt written off because accounts ran out of collateral.
    uint256 public badDebt;

    mapping(address account => uint256) public collateralOf;
    mapping(address account => uint256) public debtOf;

    constructor(
        address admin_,
        address debtAsset_,
        address collateralAsset_,
        address priceFeed_,
        uint256 maintenanceRatioWad_,
        uint256 liquidationBonusWad_,
        uint256 closeFactorWad_
    ) {
        if (
            admin_ == address(0) || debtAsset_ == address(0) || collateralAsset_ == address(0)
                || priceFeed_ == address(0)
        ) {
            revert ZeroAddress();
        }
        // Maintenance must exceed 1 + bonus, or liquidating a barely-unhealthy account would take
        // more collateral than it backs and push it deeper under water.
        if (
            maintenanceRatioWad_ <= WAD + liquidationBonusWad_ || liquidationBonusWad_ > 0.5e18 || closeFactorWad_ == 0
                || closeFactorWad_ > WAD || debtAsset_ == collateralAsset_
        ) revert InvalidRiskParameters();
        uint8 feedDecimals = AggregatorV3Interface(priceFeed_).decimals();
        if (feedDecimals > 18) revert InvalidRiskParameters();

        admin = admin_;
        debtAsset = debtAsset_;
        collateralAsset = collateralAsset_;
        priceFeed = AggregatorV3Interface(priceFeed_);
        maintenanceRatioWad = maintenanceRatioWad_;
        initialMarginRatioWad = maintenanceRatioWad_ + INITIAL_MARGIN_BUFFER_WAD;
        liquidationBonusWad = liquidationBonusWad_;
        closeFactorWad = closeFactorWad_;
        priceScale = 10 ** (18 - feedDecimals);
    }

    /// @notice Names the settlement contract allowed to liquidate. Once only: a mutable liquidator
    /// would let the admin route liquidations (and their value) anywhere.
    function setSettlement(address settlement_) external {
        if (msg.sender != admin) revert OnlyAdmin();
        if (settlement != address(0)) revert SettlementAlreadySet();
        if (settlement_ == address(0)) revert ZeroAddress();
        settlement = settlement_;
        emit SettlementSet(settlement_);
    }

    // ---------------------------------------------------------------- account actions

    function deposit(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        collateralOf[msg.sender] += amount;
        collateralAsset.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(msg.sender, amount);
        emit PositionChanged(msg.sender);
    }

    function withdraw(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 available = collateralOf[msg.sender];
        if (amount > available) revert InsufficientCollateral(msg.sender, available, amount);
        collateralOf[msg.sender] = available - amount;
        _requireInitialMargin(msg.sender);
        collateralAsset.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
        emit PositionChanged(msg.sender);
    }

    function borrow(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 liquidity = IERC20Minimal(debtAsset).balanceOf(address(this));
        if (amount > liquidity) revert InsufficientLiquidity(liquidity, amount);
        debtOf[msg.sender] += amount;
        _requireInitialMargin(msg.sender);
        debtAsset.safeTransfer(msg.sender, amount);
        emit Borrowed(msg.sender, amount);
        emit PositionChanged(msg.sender);
    }

    function repay(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 debt = debtOf[msg.sender];
        if (amount > debt) revert RepayExceedsDebt(msg.sender, debt, amount);
        debtOf[msg.sender] = debt - amount;
        debtAsset.safeTransferFrom(msg.sender, address(this), amount);
        emit Repaid(msg.sender, amount);
        emit PositionChanged(msg.sender);
    }

    // ---------------------------------------------------------------- IMarginMarket views

    function collateralAssets() external view returns (address[] memory assets) {
        assets = new address[](1);
        assets[0] = collateralAsset;
    }

    /// @inheritdoc IMarginMarket
    function accountHealth(address account)
        external
        view
        returns (uint256 collateralValue, uint256 debtValue, uint256 requirement)
    {
        return _health(account, _collateralPrice());
    }

    /// @inheritdoc IMarginMarket
    function isLiquidatable(address account) external view returns (bool) {
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = _health(account, _collateralPrice());
        return _isLiquidatable(collateralValue, debtValue, requirement);
    }

    /// @inheritdoc IMarginMarket
    function maxRepay(address account) external view returns (uint256) {
        return _maxRepay(account, _collateralPrice());
    }

    /// @inheritdoc IMarginMarket
    function previewSeize(address account, uint256 repayAmount) public view returns (uint256 seizedValue) {
        (seizedValue,) = _seizure(account, repayAmount, _collateralPrice());
    }

    /// @inheritdoc IMarginMarket
    function price(address asset) external view returns (uint256) {
        if (asset == debtAsset) return WAD;
        if (asset == collateralAsset) return _collateralPrice();
        revert UnknownAsset(asset);
    }

    // ---------------------------------------------------------------- liquidation

    /// @inheritdoc IMarginMarket
    function liquidate(address account, uint256 repayAmount, address receiver) external returns (uint256 seizedValue) {
        if (msg.sender != settlement) revert OnlySettlement();
        if (repayAmount == 0) revert ZeroAmount();
        if (receiver == address(0)) revert ZeroAddress();
        // One oracle read for the whole liquidation: checks and seizure use the same price.
        uint256 collateralPrice = _collateralPrice();
        uint256 maxRepayAmount = _maxRepay(account, collateralPrice); // zero iff not liquidatable
        if (maxRepayAmount == 0) revert NotLiquidatable(account);
        if (repayAmount > maxRepayAmount) revert RepayAboveMax(repayAmount, maxRepayAmount);

        uint256 seizedCollateral;
        (seizedValue, seizedCollateral) = _seizure(account, repayAmount, collateralPrice);

        uint256 remainingDebt = debtOf[account] - repayAmount;
        uint256 remainingCollateral = collateralOf[account] - seizedCollateral;
        collateralOf[account] = remainingCollateral;
        if (remainingCollateral == 0 && remainingDebt > 0) {
            badDebt += remainingDebt;
            emit BadDebtRealized(account, remainingDebt);
            remainingDebt = 0;
        }
        debtOf[account] = remainingDebt;

        debtAsset.safeTransferFrom(msg.sender, address(this), repayAmount);
        collateralAsset.safeTransfer(receiver, seizedCollateral);
        emit Liquidated(account, receiver, repayAmount, seizedCollateral, seizedValue);
        emit PositionChanged(account);
    }

    // ---------------------------------------------------------------- internals

    function _health(address account, uint256 collateralPrice)
        private
        view
        returns (uint256 collateralValue, uint256 debtValue, uint256 requirement)
    {
        collateralValue = collateralOf[account].mulWadDown(collateralPrice);
        debtValue = debtOf[account];
        requirement = debtValue.mulWadUp(maintenanceRatioWad);
    }

    function _isLiquidatable(uint256 collateralValue, uint256 debtValue, uint256 requirement)
        private
        pure
        returns (bool)
    {
        return debtValue > 0 && collateralValue < requirement;
    }

    /// @dev Close factor of the debt, or the whole debt when the remainder would be dust or the
    /// account is under water (collateral worth less than debt: a partial close only digs deeper).
    /// Never more than the repay that seizes all remaining collateral (at least 1 wei, so collateral
    /// worth nothing can still be cleared), which closes an under-water account by taking everything
    /// and writing the rest off as bad debt. Zero exactly when the account is not liquidatable.
    function _maxRepay(address account, uint256 collateralPrice) private view returns (uint256) {
        (uint256 collateralValue, uint256 debtValue, uint256 requirement) = _health(account, collateralPrice);
        if (!_isLiquidatable(collateralValue, debtValue, requirement)) return 0;
        uint256 amount = debtValue.mulWadDown(closeFactorWad);
        if (debtValue - amount < DUST_DEBT || collateralValue < debtValue) amount = debtValue;
        uint256 repayToSeizeAll = collateralValue.mulDivUp(WAD, WAD + liquidationBonusWad);
        if (repayToSeizeAll == 0) repayToSeizeAll = 1;
        return amount < repayToSeizeAll ? amount : repayToSeizeAll;
    }

    /// @dev Seized value = repay * (1 + bonus), capped at the account's collateral. Collateral units
    /// round down (the protocol keeps the remainder); when the value covers all collateral, all of it
    /// is taken so no unliquidatable dust is left behind.
    function _seizure(address account, uint256 repayAmount, uint256 collateralPrice)
        private
        view
        returns (uint256 seizedValue, uint256 seizedCollateral)
    {
        uint256 collateral = collateralOf[account];
        uint256 collateralValue = collateral.mulWadDown(collateralPrice);
        seizedValue = repayAmount.mulWadDown(WAD + liquidationBonusWad);
        if (seizedValue >= collateralValue) return (collateralValue, collateral);
        seizedCollateral = seizedValue.mulDivDown(WAD, collateralPrice);
    }

    /// @dev Debt units per 1e18 collateral units. Rejects non-positive, unset, future-dated and stale
    /// rounds: liquidating on a broken price is worse than not liquidating.
    function _collateralPrice() private view returns (uint256) {
        (, int256 answer,, uint256 updatedAt,) = priceFeed.latestRoundData();
        if (answer <= 0) revert InvalidPrice(answer);
        if (updatedAt == 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > MAX_PRICE_AGE) {
            revert StalePrice(updatedAt, block.timestamp);
        }
        // casting to 'uint256' is safe because answer > 0 was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint256(answer) * priceScale;
    }

    function _requireInitialMargin(address account) private view {
        uint256 debt = debtOf[account];
        if (debt == 0) return;
        uint256 collateralValue = collateralOf[account].mulWadDown(_collateralPrice());
        uint256 requiredValue = debt.mulWadUp(initialMarginRatioWad);
        if (collateralValue < requiredValue) revert BelowInitialMargin(account, collateralValue, requiredValue);
    }
}
