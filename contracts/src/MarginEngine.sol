// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarginMarket} from "./interfaces/IMarginMarket.sol";
import {IERC20Minimal} from "./interfaces/IERC20Minimal.sol";
import {OracleRouter} from "./OracleRouter.sol";
import {InsuranceFund} from "./InsuranceFund.sol";
import {SafeTransferLib} from "./libraries/SafeTransferLib.sol";
import {WadMath} from "./libraries/WadMath.sol";

/// @title MarginEngine
/// @notice The reference margin protocol Backstop protects: cross-margin accounts post several
/// collateral assets against one debt asset, borrowed from the engine's own liquidity. Liquidation
/// runs only through the Backstop settlement contract (auction awards, or its open fallback path).
///
/// @dev Units: every value is in debt-asset units (18 decimals); prices are WAD from the OracleRouter.
/// Rounding always favours the protocol: values an account is credited with round down, requirements
/// and haircuts round up, collateral a liquidator receives rounds down.
///
/// Health. For each collateral i held: marketValue_i = units_i * price_i, and
///   haircut_i = min(maxHaircut_i, baseHaircut_i + volatilityMultiplier_i * volatility_i)
/// where volatility_i is the router's realised one-hour volatility, so the buffer an account carries
/// grows in turbulent markets. The risk-adjusted collateral value is
///   collateralValue = sum_i marketValue_i * (1 - haircut_i),
/// the requirement is debt * maintenanceRatio, and `accountHealth` reports exactly these (its
/// `collateralValue` is the risk-adjusted one). Health ratio = collateralValue / requirement; an account
/// is liquidatable iff debt > 0 and the ratio is below 1. Borrow and withdraw must keep
/// collateralValue >= debt * initialMarginRatio.
///
/// Liquidation. Seizure is pro-rata by value: repaying R takes the same fraction f = R / R_all of every
/// collateral, where R_all = sum_i marketValue_i / (1 + bonus_i) is the repay that buys all of it at each
/// collateral's own bonus (so asset i yields exactly its bonus on its share of the repay). Because the
/// same fraction of each asset goes, the risk-adjusted value falls by f while the debt falls by R / D:
/// a partial liquidation raises the health ratio iff R_all >= D. Hence `maxRepay` is the close factor of
/// the debt, or the whole debt when (a) health is below `fullLiquidationHealthWad`, (b) the remainder
/// after a close-factor repay would be below `dustDebt` (not worth liquidating twice), or (c) the
/// collateral at its bonus barely covers the debt (R_all < D, within a 1e-6 margin), where a partial
/// close could only dig deeper; and never more than R_all. `liquidate` re-checks the result: unless the
/// account is closed (no debt left), its health ratio must not have fallen.
///
/// Shortfall. Debt left once all collateral is gone is drawn from the InsuranceFund (which receives the
/// auction premiums); what the fund cannot pay is recorded in `badDebt` and emitted, never left hidden
/// in an account that can no longer be liquidated.
///
/// Circuit breaker. When the router flags an anomaly (a feed stale or broken, feeds disagreeing beyond
/// their bound, a jump beyond its bound) for any collateral an account holds, that account cannot
/// borrow or withdraw while it has debt (the actions that lower health). Deposits and repays always
/// work; withdrawals without debt need no price. Liquidations continue, on the router's conservative
/// price (the lowest valid feed while feeds disagree, the surviving feed while one is down), because
/// halting them is how bad debt grows; with no valid feed at all nothing that needs a price works.
contract MarginEngine is IMarginMarket {
    using SafeTransferLib for address;
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;

    uint256 public constant MAX_COLLATERALS = 8;
    uint256 public constant MAX_LIQUIDATION_BONUS = 0.25e18;
    uint256 public constant MAX_VOLATILITY_MULTIPLIER = 50e18;
    /// @notice Relative margin by which R_all must exceed the debt for a partial close to be offered,
    /// so integer rounding can never make a close-factor liquidation lower health.
    uint256 public constant PARTIAL_CLOSE_MARGIN_WAD = 1e12;

    /// @param maintenanceRatioWad Requirement per unit of debt below which an account is liquidatable (e.g. 1.1e18).
    /// @param initialMarginRatioWad Requirement per unit of debt that borrow and withdraw must keep (e.g. 1.25e18).
    /// @param closeFactorWad Share of the debt one liquidation may repay (e.g. 0.5e18).
    /// @param fullLiquidationHealthWad Below this health ratio the whole debt may be repaid at once (e.g. 0.9e18).
    /// @param dustDebt Debt (debt units) below which a position is not worth liquidating twice (e.g. 10e18).
    struct RiskParams {
        uint256 maintenanceRatioWad;
        uint256 initialMarginRatioWad;
        uint256 closeFactorWad;
        uint256 fullLiquidationHealthWad;
        uint256 dustDebt;
    }

    /// @param baseHaircutWad Haircut in calm markets (e.g. 0.05e18 = 5%).
    /// @param volatilityMultiplierWad Haircut added per unit of one-hour volatility (e.g. 2e18).
    /// @param maxHaircutWad Ceiling of the haircut (e.g. 0.4e18).
    /// @param liquidationBonusWad Extra value a liquidator seizes per unit repaid from this collateral (e.g. 0.05e18).
    struct CollateralParams {
        uint64 baseHaircutWad;
        uint64 volatilityMultiplierWad;
        uint64 maxHaircutWad;
        uint64 liquidationBonusWad;
    }

    /// @dev One collateral an account holds, with its price now (memory only).
    struct Holding {
        address asset;
        uint256 units;
        uint256 priceWad;
        uint256 volatilityWad;
        uint256 flags;
        uint256 marketValue;
    }

    /// @dev An account's valuation (memory only). See the contract notes for the formulas.
    struct Position {
        uint256 collateralValue;
        uint256 repayToSeizeAll;
        uint256 debt;
        uint256 requirement;
    }

    event Deposited(address indexed account, address indexed asset, uint256 amount);
    event Withdrawn(address indexed account, address indexed asset, uint256 amount);
    event Borrowed(address indexed account, uint256 amount);
    event Repaid(address indexed account, uint256 amount);
    /// @param liquidator The settlement contract that ran the liquidation.
    /// @param receiver Who received the seized collateral (the award's executor or the open-path caller).
    event Liquidated(
        address indexed account,
        address indexed liquidator,
        address indexed receiver,
        uint256 repayAmount,
        uint256 seizedValue,
        uint256 remainingDebt
    );
    event CollateralSeized(address indexed account, address indexed asset, uint256 units, uint256 value);
    /// @notice Debt left on an account after all its collateral was seized, and how much of it the
    /// insurance fund paid; the rest is in `BadDebtRecorded`.
    event ShortfallAbsorbed(address indexed account, uint256 shortfall, uint256 paidByFund);
    /// @notice A shortfall the insurance fund could not cover, added to `badDebt`.
    event BadDebtRecorded(address indexed account, uint256 amount, uint256 totalBadDebt);
    /// @notice Recorded bad debt paid down later from the fund.
    event BadDebtCovered(uint256 amount, uint256 totalBadDebt);
    event CollateralAdded(address indexed asset, CollateralParams params);
    event CollateralUpdated(address indexed asset, CollateralParams params);
    event SettlementSet(address indexed settlement);

    error ZeroAddress();
    error ZeroAmount();
    error Reentrancy();
    error InvalidRiskParameters();
    error InvalidCollateralParameters();
    error OnlyAdmin();
    error OnlySettlement();
    error SettlementAlreadySet();
    error UnknownAsset(address asset);
    error CollateralAlreadyListed(address asset);
    error TooManyCollaterals();
    error InsufficientCollateral(address account, address asset, uint256 available, uint256 requested);
    error RepayExceedsDebt(address account, uint256 debt, uint256 repayAmount);
    error InsufficientLiquidity(uint256 available, uint256 requested);
    error BelowInitialMargin(address account, uint256 collateralValue, uint256 requiredValue);
    error OracleAnomaly(address asset, uint256 flags);
    error NotLiquidatable(address account);
    error RepayAboveMax(uint256 repayAmount, uint256 maxRepayAmount);
    error LiquidationWouldLowerHealth(address account);

    address public immutable admin;
    address public immutable debtAsset;
    OracleRouter public immutable oracleRouter;
    /// @notice Receives premiums (register it as the market's beneficiary) and absorbs shortfalls.
    InsuranceFund public immutable insuranceFund;
    uint256 public immutable maintenanceRatioWad;
    uint256 public immutable initialMarginRatioWad;
    uint256 public immutable closeFactorWad;
    uint256 public immutable fullLiquidationHealthWad;
    uint256 public immutable dustDebt;

    bool private transient locked;

    /// @notice The only address allowed to liquidate; set once by the admin after deployment.
    address public settlement;
    address[] private collateralList;
    mapping(address asset => bool) public isCollateral;
    mapping(address asset => CollateralParams) public collateralParams;
    mapping(address account => mapping(address asset => uint256)) public collateralOf;
    mapping(address account => uint256) public debtOf;
    /// @notice Shortfall the insurance fund has not covered: a loss to the engine's liquidity, outstanding.
    uint256 public badDebt;
    /// @notice Every shortfall ever realised; always equals `totalCoveredByFund + badDebt`.
    uint256 public totalShortfall;
    uint256 public totalCoveredByFund;

    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert OnlyAdmin();
        _;
    }

    /// @notice Deploys the engine and its insurance fund. Collaterals are listed afterwards with
    /// `addCollateral`; the settlement is named with `setSettlement`.
    constructor(address admin_, address debtAsset_, address oracleRouter_, RiskParams memory params) {
        if (admin_ == address(0) || debtAsset_ == address(0) || oracleRouter_ == address(0)) revert ZeroAddress();
        if (
            params.maintenanceRatioWad < WAD || params.initialMarginRatioWad <= params.maintenanceRatioWad
                || params.closeFactorWad == 0 || params.closeFactorWad > WAD || params.fullLiquidationHealthWad == 0
                || params.fullLiquidationHealthWad > WAD
        ) revert InvalidRiskParameters();
        admin = admin_;
        debtAsset = debtAsset_;
        oracleRouter = OracleRouter(oracleRouter_);
        insuranceFund = new InsuranceFund(debtAsset_);
        maintenanceRatioWad = params.maintenanceRatioWad;
        initialMarginRatioWad = params.initialMarginRatioWad;
        closeFactorWad = params.closeFactorWad;
        fullLiquidationHealthWad = params.fullLiquidationHealthWad;
        dustDebt = params.dustDebt;
    }

    // ---------------------------------------------------------------- admin

    /// @notice Names the settlement contract allowed to liquidate. Once only: a mutable liquidator
    /// would let the admin route liquidations (and their value) anywhere.
    function setSettlement(address settlement_) external onlyAdmin {
        if (settlement != address(0)) revert SettlementAlreadySet();
        if (settlement_ == address(0)) revert ZeroAddress();
        settlement = settlement_;
        emit SettlementSet(settlement_);
    }

    /// @notice Lists a collateral. The router must already price it (its feeds are read here).
    function addCollateral(address asset, CollateralParams calldata params) external onlyAdmin {
        if (asset == address(0)) revert ZeroAddress();
        if (asset == debtAsset) revert InvalidCollateralParameters();
        if (isCollateral[asset]) revert CollateralAlreadyListed(asset);
        if (collateralList.length == MAX_COLLATERALS) revert TooManyCollaterals();
        _validate(params);
        oracleRouter.peek(asset); // reverts for an asset the router cannot price
        collateralList.push(asset);
        isCollateral[asset] = true;
        collateralParams[asset] = params;
        emit CollateralAdded(asset, params);
    }

    /// @notice Changes a collateral's haircut and bonus. Takes effect at once for every account: a
    /// governance action, validated like a new listing.
    function updateCollateral(address asset, CollateralParams calldata params) external onlyAdmin {
        if (!isCollateral[asset]) revert UnknownAsset(asset);
        _validate(params);
        collateralParams[asset] = params;
        emit CollateralUpdated(asset, params);
    }

    // ---------------------------------------------------------------- account actions

    function deposit(address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (!isCollateral[asset]) revert UnknownAsset(asset);
        collateralOf[msg.sender][asset] += amount;
        asset.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(msg.sender, asset, amount);
        emit PositionChanged(msg.sender);
    }

    /// @notice Withdraws collateral. With debt outstanding the account must stay above the initial
    /// margin and none of its collaterals' oracles may be anomalous (the circuit breaker).
    function withdraw(address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = collateralOf[msg.sender][asset];
        if (amount > available) revert InsufficientCollateral(msg.sender, asset, available, amount);
        uint256 debt = debtOf[msg.sender];
        if (debt > 0) {
            // Priced before the withdrawal, so the withdrawn asset's oracle is checked too.
            Holding[] memory holdings = _recordHoldings(msg.sender);
            _requireNoAnomaly(holdings);
            for (uint256 i = 0; i < holdings.length; ++i) {
                if (holdings[i].asset == asset) holdings[i].units -= amount;
            }
            _requireInitialMargin(msg.sender, _position(holdings, debt));
        }
        collateralOf[msg.sender][asset] = available - amount;
        asset.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, asset, amount);
        emit PositionChanged(msg.sender);
    }

    function borrow(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 liquidity = IERC20Minimal(debtAsset).balanceOf(address(this));
        if (amount > liquidity) revert InsufficientLiquidity(liquidity, amount);
        uint256 debt = debtOf[msg.sender] + amount;
        Holding[] memory holdings = _recordHoldings(msg.sender);
        _requireNoAnomaly(holdings);
        _requireInitialMargin(msg.sender, _position(holdings, debt));
        debtOf[msg.sender] = debt;
        debtAsset.safeTransfer(msg.sender, amount);
        emit Borrowed(msg.sender, amount);
        emit PositionChanged(msg.sender);
    }

    function repay(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 debt = debtOf[msg.sender];
        if (amount > debt) revert RepayExceedsDebt(msg.sender, debt, amount);
        debtOf[msg.sender] = debt - amount;
        debtAsset.safeTransferFrom(msg.sender, address(this), amount);
        emit Repaid(msg.sender, amount);
        emit PositionChanged(msg.sender);
    }

    /// @notice Pays recorded bad debt down from the insurance fund, as far as the fund allows.
    /// Permissionless: it only moves the fund's reserve back into the engine's liquidity.
    function coverBadDebt() external nonReentrant returns (uint256 paid) {
        uint256 outstanding = badDebt;
        if (outstanding == 0) return 0;
        paid = insuranceFund.cover(outstanding);
        badDebt = outstanding - paid;
        totalCoveredByFund += paid;
        emit BadDebtCovered(paid, outstanding - paid);
    }

    // ---------------------------------------------------------------- IMarginMarket views

    function collateralAssets() external view returns (address[] memory) {
        return collateralList;
    }

    /// @inheritdoc IMarginMarket
    /// @dev `collateralValue` is risk-adjusted: each collateral's market value less its
    /// volatility-adjusted haircut (see the contract notes).
    function accountHealth(address account)
        external
        view
        returns (uint256 collateralValue, uint256 debtValue, uint256 requirement)
    {
        Position memory position = _position(_peekHoldings(account), debtOf[account]);
        return (position.collateralValue, position.debt, position.requirement);
    }

    /// @inheritdoc IMarginMarket
    function isLiquidatable(address account) external view returns (bool) {
        return _isLiquidatable(_position(_peekHoldings(account), debtOf[account]));
    }

    /// @inheritdoc IMarginMarket
    function maxRepay(address account) external view returns (uint256) {
        return _maxRepay(_position(_peekHoldings(account), debtOf[account]));
    }

    /// @inheritdoc IMarginMarket
    function previewSeize(address account, uint256 repayAmount) external view returns (uint256 seizedValue) {
        Holding[] memory holdings = _peekHoldings(account);
        Position memory position = _position(holdings, debtOf[account]);
        bool seizeAll = repayAmount >= position.repayToSeizeAll;
        for (uint256 i = 0; i < holdings.length; ++i) {
            seizedValue += seizeAll
                ? holdings[i].marketValue
                : holdings[i].marketValue.mulDivDown(repayAmount, position.repayToSeizeAll);
        }
    }

    /// @inheritdoc IMarginMarket
    function price(address asset) external view returns (uint256) {
        if (asset == debtAsset) return WAD;
        if (!isCollateral[asset]) revert UnknownAsset(asset);
        return oracleRouter.price(asset);
    }

    /// @notice Health ratio, WAD (below 1e18 = liquidatable); type(uint256).max without debt.
    function healthOf(address account) external view returns (uint256) {
        Position memory position = _position(_peekHoldings(account), debtOf[account]);
        if (position.requirement == 0) return type(uint256).max;
        return position.collateralValue.mulDivDown(WAD, position.requirement);
    }

    /// @notice The haircut applied to `asset` now, WAD, given the router's current volatility.
    function haircutOf(address asset) external view returns (uint256) {
        if (!isCollateral[asset]) revert UnknownAsset(asset);
        (, uint256 volatilityWad,) = oracleRouter.peek(asset);
        return _haircut(collateralParams[asset], volatilityWad);
    }

    // ---------------------------------------------------------------- liquidation

    /// @inheritdoc IMarginMarket
    /// @dev Seizes the same fraction of every collateral the account holds (see the contract notes) and
    /// transfers each to `receiver`. If all collateral goes and debt remains, the shortfall is drawn from
    /// the insurance fund and any remainder recorded as bad debt, so the account ends with no debt.
    function liquidate(address account, uint256 repayAmount, address receiver)
        external
        nonReentrant
        returns (uint256 seizedValue)
    {
        if (msg.sender != settlement) revert OnlySettlement();
        if (repayAmount == 0) revert ZeroAmount();
        if (receiver == address(0)) revert ZeroAddress();
        // One oracle read per asset for the whole liquidation: checks and seizure use the same prices.
        Holding[] memory holdings = _recordHoldings(account);
        Position memory before = _position(holdings, debtOf[account]);
        uint256 maxRepayAmount = _maxRepay(before); // zero iff not liquidatable
        if (maxRepayAmount == 0) revert NotLiquidatable(account);
        if (repayAmount > maxRepayAmount) revert RepayAboveMax(repayAmount, maxRepayAmount);

        bool seizeAll = repayAmount >= before.repayToSeizeAll;
        uint256[] memory seizedUnits = new uint256[](holdings.length);
        for (uint256 i = 0; i < holdings.length; ++i) {
            Holding memory holding = holdings[i];
            uint256 units = seizeAll ? holding.units : holding.units.mulDivDown(repayAmount, before.repayToSeizeAll);
            uint256 value =
                seizeAll ? holding.marketValue : holding.marketValue.mulDivDown(repayAmount, before.repayToSeizeAll);
            seizedUnits[i] = units;
            seizedValue += value;
            holding.units -= units;
            collateralOf[account][holding.asset] = holding.units;
            emit CollateralSeized(account, holding.asset, units, value);
        }

        uint256 remainingDebt = before.debt - repayAmount;
        uint256 shortfall;
        if (seizeAll && remainingDebt > 0) {
            shortfall = remainingDebt;
            remainingDebt = 0;
        }
        debtOf[account] = remainingDebt;
        if (remainingDebt > 0) {
            // Health ratio may not fall unless the account is closed (cross-multiplied, no rounding).
            Position memory afterwards = _position(holdings, remainingDebt);
            if (afterwards.collateralValue * before.requirement < before.collateralValue * afterwards.requirement) {
                revert LiquidationWouldLowerHealth(account);
            }
        }

        debtAsset.safeTransferFrom(msg.sender, address(this), repayAmount);
        for (uint256 i = 0; i < holdings.length; ++i) {
            if (seizedUnits[i] > 0) holdings[i].asset.safeTransfer(receiver, seizedUnits[i]);
        }
        if (shortfall > 0) _absorbShortfall(account, shortfall);
        emit Liquidated(account, msg.sender, receiver, repayAmount, seizedValue, remainingDebt);
        emit PositionChanged(account);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The insurance fund pays what it can; the rest is recorded and emitted as bad debt.
    function _absorbShortfall(address account, uint256 shortfall) private {
        totalShortfall += shortfall;
        uint256 paid = insuranceFund.cover(shortfall);
        totalCoveredByFund += paid;
        emit ShortfallAbsorbed(account, shortfall, paid);
        uint256 uncovered = shortfall - paid;
        if (uncovered > 0) {
            uint256 total = badDebt + uncovered;
            badDebt = total;
            emit BadDebtRecorded(account, uncovered, total);
        }
    }

    /// @dev The collaterals `account` holds (non-zero balances), in listing order, without prices.
    function _listHoldings(address account) private view returns (Holding[] memory holdings) {
        uint256 listed = collateralList.length;
        holdings = new Holding[](listed);
        uint256 count;
        for (uint256 i = 0; i < listed; ++i) {
            address asset = collateralList[i];
            uint256 units = collateralOf[account][asset];
            if (units == 0) continue;
            holdings[count].asset = asset;
            holdings[count].units = units;
            ++count;
        }
        assembly ("memory-safe") {
            mstore(holdings, count)
        }
    }

    function _peekHoldings(address account) private view returns (Holding[] memory holdings) {
        holdings = _listHoldings(account);
        for (uint256 i = 0; i < holdings.length; ++i) {
            Holding memory holding = holdings[i];
            (holding.priceWad, holding.volatilityWad, holding.flags) = oracleRouter.peek(holding.asset);
        }
    }

    /// @dev Like `_peekHoldings`, but records each observation in the router (same values, same block).
    function _recordHoldings(address account) private returns (Holding[] memory holdings) {
        holdings = _listHoldings(account);
        for (uint256 i = 0; i < holdings.length; ++i) {
            Holding memory holding = holdings[i];
            (holding.priceWad, holding.volatilityWad, holding.flags) = oracleRouter.update(holding.asset);
        }
    }

    /// @dev Values the holdings (writing each one's market value into it) against `debt`.
    function _position(Holding[] memory holdings, uint256 debt) private view returns (Position memory position) {
        for (uint256 i = 0; i < holdings.length; ++i) {
            Holding memory holding = holdings[i];
            CollateralParams memory params = collateralParams[holding.asset];
            uint256 marketValue = holding.units.mulWadDown(holding.priceWad);
            holding.marketValue = marketValue;
            position.collateralValue += marketValue.mulWadDown(WAD - _haircut(params, holding.volatilityWad));
            position.repayToSeizeAll += marketValue.mulDivUp(WAD, WAD + params.liquidationBonusWad);
        }
        position.debt = debt;
        position.requirement = debt.mulWadUp(maintenanceRatioWad);
    }

    function _haircut(CollateralParams memory params, uint256 volatilityWad) private pure returns (uint256) {
        uint256 haircut =
            uint256(params.baseHaircutWad) + uint256(params.volatilityMultiplierWad).mulWadUp(volatilityWad);
        return WadMath.min(haircut, params.maxHaircutWad);
    }

    function _isLiquidatable(Position memory position) private pure returns (bool) {
        return position.debt > 0 && position.collateralValue < position.requirement;
    }

    /// @dev See the contract notes. Zero exactly when the account is not liquidatable; at least 1 wei
    /// otherwise, so collateral worth nothing can still be cleared and its debt written off.
    function _maxRepay(Position memory position) private view returns (uint256) {
        if (!_isLiquidatable(position)) return 0;
        uint256 debt = position.debt;
        uint256 amount = debt.mulWadDown(closeFactorWad);
        if (
            amount == 0 || debt - amount < dustDebt
                || position.collateralValue * WAD < fullLiquidationHealthWad * position.requirement
                || position.repayToSeizeAll * WAD < debt * (WAD + PARTIAL_CLOSE_MARGIN_WAD)
        ) amount = debt;
        uint256 cap = position.repayToSeizeAll == 0 ? 1 : position.repayToSeizeAll;
        return WadMath.min(amount, cap);
    }

    function _requireNoAnomaly(Holding[] memory holdings) private pure {
        for (uint256 i = 0; i < holdings.length; ++i) {
            if (holdings[i].flags != 0) revert OracleAnomaly(holdings[i].asset, holdings[i].flags);
        }
    }

    function _requireInitialMargin(address account, Position memory position) private view {
        uint256 requiredValue = position.debt.mulWadUp(initialMarginRatioWad);
        if (position.collateralValue < requiredValue) {
            revert BelowInitialMargin(account, position.collateralValue, requiredValue);
        }
    }

    /// @dev Haircuts stay below 100%; the bonus is bounded; and at the maintenance boundary a
    /// liquidation must raise health: (1 + bonus) * (1 - baseHaircut) < maintenanceRatio (contract notes).
    function _validate(CollateralParams calldata params) private view {
        if (
            params.baseHaircutWad > params.maxHaircutWad || params.maxHaircutWad >= WAD
                || params.liquidationBonusWad > MAX_LIQUIDATION_BONUS
                || params.volatilityMultiplierWad > MAX_VOLATILITY_MULTIPLIER
                || (WAD + params.liquidationBonusWad) * (WAD - params.baseHaircutWad) >= maintenanceRatioWad * WAD
        ) revert InvalidCollateralParameters();
    }
}
