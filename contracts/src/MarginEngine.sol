// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarginMarket} from "./interfaces/IMarginMarket.sol";
import {IERC20Minimal} from "./interfaces/IERC20Minimal.sol";
import {OracleRouter, ORACLE_MAX_PRICE_WAD, ORACLE_FLAG_JUMP, ORACLE_FLAG_DEVIATION} from "./OracleRouter.sol";
import {InsuranceFund} from "./InsuranceFund.sol";
import {SafeTransferLib} from "./libraries/SafeTransferLib.sol";
import {WadMath} from "./libraries/WadMath.sol";

/// @dev The settlement's view of an account's unhealthy flag, which the engine keeps current.
interface IUnhealthyFlags {
    function unhealthySince(bytes32 marketId, address account) external view returns (uint256);
    function clearUnhealthy(bytes32 marketId, address account) external;
}

/// @title MarginEngine
/// @notice The reference margin protocol Backstop protects: cross-margin accounts post several
/// collateral assets against one debt asset, borrowed from the engine's own liquidity. Liquidation
/// runs only through the Backstop settlement contract (auction awards, or its open fallback path).
///
/// @dev Units: every value is in debt-asset units, in the debt token's own decimals; prices are the
/// OracleRouter's WAD price of one whole token. Each token's decimals are read when it is listed, so a
/// holding of `units` is worth marketValue = units * price / 10^(collateralDecimals + 18 - debtDecimals)
/// (a 6-decimal USDC debt against 8-decimal WBTC is valued correctly). Rounding always favours the
/// protocol: values an account is credited with round down, requirements and haircuts round up,
/// collateral a liquidator receives rounds down. Products are formed in 512 bits (WadMath); deposits
/// are capped at 1e48 debt units of value per holding at the router's largest price, and debt at
/// `MAX_DEBT`, so no sum or ratio an account can reach overflows.
///
/// Health. For each collateral i held: marketValue_i = units_i * price_i (scaled as above), and
///   haircut_i = min(maxHaircut_i, baseHaircut_i + volatilityMultiplier_i * volatility_i)
/// where volatility_i is the router's realised one-hour volatility, so the buffer an account carries
/// grows in turbulent markets. The risk-adjusted collateral value is
///   collateralValue = sum_i marketValue_i * (1 - haircut_i),
/// the requirement is debt * maintenanceRatio, and `accountHealth` reports exactly these (its
/// `collateralValue` is the risk-adjusted one). Health ratio = collateralValue / requirement; an account
/// is liquidatable iff debt > 0 and the ratio is below 1. Borrow and withdraw must keep
/// collateralValue >= debt * initialMarginRatio. `openLiquidationHealth` is the same valuation at the
/// router's open-path price (the higher of two disagreeing feeds), so one feed alone never opens the
/// settlement's permissionless path.
///
/// Dust. A holding whose feeds have all lapsed has no price. If it was worth at most `dustDebt` at
/// the router's last recorded price, it counts for nothing (health, seizure) and stays in the account,
/// so a tiny deposit of an illiquid collateral cannot block the liquidation of the priced collateral;
/// a larger unpriced holding makes pricing revert, as acting on a missing price is worse than waiting.
///
/// Liquidation. Seizure is pro-rata by value: repaying R takes the same fraction f = R / R_all of every
/// priced collateral, where R_all = sum_i marketValue_i / (1 + bonus_i) is the repay that buys all of
/// it at each collateral's own bonus (so asset i yields exactly its bonus on its share of the repay) —
/// unless that is less than the debt D while the collateral's market value M still covers it: then
/// R_all = D, i.e. repaying the whole debt buys all the collateral and the bonus is capped at M - D,
/// what the collateral holds beyond the debt. A solvent account's liquidation therefore never leaves
/// a shortfall; bad debt appears only when M < D. Because the same fraction of each asset goes, the
/// risk-adjusted value falls by f while the debt falls by R / D: a partial liquidation raises the
/// health ratio iff R_all >= D. Hence `maxRepay` is the close factor of the debt, or the whole debt
/// when (a) health is below `fullLiquidationHealthWad`, (b) the remainder after a close-factor repay
/// would be below `dustDebt` (not worth liquidating twice), or (c) the collateral at its bonus barely
/// covers the debt (R_all < D, within a 1e-6 margin), where a partial close could only dig deeper; and
/// never more than R_all. `liquidate` re-checks the result: unless the account is closed (no debt
/// left), its health ratio must not have fallen.
///
/// Shortfall. Debt left once all priced collateral is gone is drawn from the InsuranceFund (which
/// receives the auction premiums); what the fund cannot pay is recorded in `badDebt` and emitted,
/// never left hidden in an account that can no longer be liquidated.
///
/// Risk changes. The ratios (maintenance, initial margin, close factor, full-liquidation line, dust)
/// are immutable. A collateral's haircuts and bonus change through `updateCollateral`: a change that
/// only lowers them applies at once; any increase could push healthy accounts under in one
/// transaction, so it is announced (`CollateralUpdateScheduled`) and applies `RISK_CHANGE_DELAY`
/// later through `applyCollateralUpdate` (anyone), giving accounts two days to add margin.
///
/// Flags. The settlement's unhealthy flag must describe the present. After every deposit, withdraw,
/// borrow and repay of a flagged account the engine asks the settlement to clear the flag, which it
/// does only if the account is healthy (`clearUnhealthy`), so an owner who restored health by their
/// own action cannot be caught later by a stale flag. (The cost for an unflagged account is one view.)
///
/// Circuit breaker. An account cannot borrow, or withdraw while it has debt (the actions that add
/// risk), when any collateral it holds has a jump on record or feeds that disagree beyond the
/// deviation bound with no two agreeing (`isCorroborated`): then no price can be trusted to add
/// risk against. A feed that is merely down
/// (reverting, stale, malformed) is not a disagreement: pricing, borrowing and withdrawing continue
/// from the sane feeds, so one broken feed can never halt the market while another is sane. Such a
/// refusal is the typed `OracleAnomaly(asset, flags)`, never a revert from a feed's data. Deposits and
/// repays always work; withdrawals without debt need no price. Liquidations continue, on the router's
/// conservative price (the lower feed while two disagree, the surviving feed while one is down),
/// because halting them is how bad debt grows; with no valid feed at all nothing that needs a price
/// works.
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
    /// @notice Notice given before a change that raises a collateral's haircut or bonus applies.
    uint256 public constant RISK_CHANGE_DELAY = 2 days;
    /// @notice Largest debt an account may carry, in debt units; with the deposit cap it bounds every
    /// product of the health math.
    uint256 public constant MAX_DEBT = 1e48;
    /// @notice Largest maintenance (and so initial margin) ratio accepted at deployment.
    uint256 public constant MAX_MARGIN_RATIO = 10e18;
    /// @notice A holding may be worth at most this many debt units at the router's largest price.
    uint256 public constant MAX_HOLDING_VALUE = 1e48;

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

    /// @notice A collateral update that raises haircuts or the bonus, announced and waiting for its time.
    struct PendingCollateralUpdate {
        CollateralParams params;
        uint64 effectiveAt;
    }

    /// @dev One collateral an account holds, with its price now (memory only). An unpriced holding is
    /// lapsed dust (see the contract notes): it counts for nothing.
    struct Holding {
        address asset;
        uint256 units;
        uint256 priceScale;
        bool priced;
        uint256 priceWad;
        uint256 volatilityWad;
        uint256 flags;
        uint256 marketValue;
    }

    /// @dev An account's valuation (memory only). See the contract notes for the formulas.
    struct Position {
        uint256 collateralValue;
        uint256 marketValue;
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
    /// @notice A change raising haircuts or the bonus was announced; it applies from `effectiveAt`.
    event CollateralUpdateScheduled(address indexed asset, CollateralParams params, uint256 effectiveAt);
    event CollateralUpdateCancelled(address indexed asset);
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
    error InvalidToken(address token);
    error DepositCapExceeded(address asset, uint256 cap);
    error DebtCapExceeded(uint256 cap);
    error NoPendingUpdate(address asset);
    error UpdateNotDue(address asset, uint256 effectiveAt);

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
    /// @notice The debt token's decimals, read at deployment.
    uint8 public immutable debtDecimals;

    bool private transient locked;

    /// @notice The only address allowed to liquidate; set once by the admin after deployment.
    address public settlement;
    address[] private collateralList;
    mapping(address asset => bool) public isCollateral;
    mapping(address asset => CollateralParams) public collateralParams;
    /// @notice 10^(collateralDecimals + 18 - debtDecimals): marketValue = units * priceWad / priceScale.
    mapping(address asset => uint256) public priceScaleOf;
    mapping(address asset => PendingCollateralUpdate) public pendingCollateralUpdate;
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
                || params.initialMarginRatioWad > MAX_MARGIN_RATIO
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
        debtDecimals = _decimalsOf(debtAsset_);
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

    /// @notice Lists a collateral. The router must already price it (its feeds are read here); the
    /// token's decimals are read once and fix how its units are valued.
    function addCollateral(address asset, CollateralParams calldata params) external onlyAdmin {
        if (asset == address(0)) revert ZeroAddress();
        if (asset == debtAsset) revert InvalidCollateralParameters();
        if (isCollateral[asset]) revert CollateralAlreadyListed(asset);
        if (collateralList.length == MAX_COLLATERALS) revert TooManyCollaterals();
        _validate(params);
        uint8 decimals = _decimalsOf(asset);
        oracleRouter.peek(asset); // reverts for an asset the router cannot price
        collateralList.push(asset);
        isCollateral[asset] = true;
        collateralParams[asset] = params;
        priceScaleOf[asset] = 10 ** (uint256(decimals) + 18 - debtDecimals);
        emit CollateralAdded(asset, params);
    }

    /// @notice Changes a collateral's haircuts and bonus, validated like a new listing. A change that
    /// raises none of them applies at once; any other is announced and applies `RISK_CHANGE_DELAY`
    /// later (see the contract notes), replacing an update announced before.
    function updateCollateral(address asset, CollateralParams calldata params) external onlyAdmin {
        if (!isCollateral[asset]) revert UnknownAsset(asset);
        _validate(params);
        CollateralParams memory current = collateralParams[asset];
        if (
            params.baseHaircutWad <= current.baseHaircutWad
                && params.volatilityMultiplierWad <= current.volatilityMultiplierWad
                && params.maxHaircutWad <= current.maxHaircutWad
                && params.liquidationBonusWad <= current.liquidationBonusWad
        ) {
            delete pendingCollateralUpdate[asset];
            collateralParams[asset] = params;
            emit CollateralUpdated(asset, params);
            return;
        }
        uint256 effectiveAt = block.timestamp + RISK_CHANGE_DELAY;
        // casting to 'uint64' is safe because block.timestamp + 2 days < 2^64
        // forge-lint: disable-next-line(unsafe-typecast)
        pendingCollateralUpdate[asset] = PendingCollateralUpdate({params: params, effectiveAt: uint64(effectiveAt)});
        emit CollateralUpdateScheduled(asset, params, effectiveAt);
    }

    /// @notice Applies an announced collateral update once its time has come. Anyone may call.
    function applyCollateralUpdate(address asset) external {
        PendingCollateralUpdate memory pending = pendingCollateralUpdate[asset];
        if (pending.effectiveAt == 0) revert NoPendingUpdate(asset);
        if (block.timestamp < pending.effectiveAt) revert UpdateNotDue(asset, pending.effectiveAt);
        delete pendingCollateralUpdate[asset];
        collateralParams[asset] = pending.params;
        emit CollateralUpdated(asset, pending.params);
    }

    /// @notice Withdraws an announced collateral update; the admin only.
    function cancelCollateralUpdate(address asset) external onlyAdmin {
        if (pendingCollateralUpdate[asset].effectiveAt == 0) revert NoPendingUpdate(asset);
        delete pendingCollateralUpdate[asset];
        emit CollateralUpdateCancelled(asset);
    }

    // ---------------------------------------------------------------- account actions

    function deposit(address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (!isCollateral[asset]) revert UnknownAsset(asset);
        uint256 units = collateralOf[msg.sender][asset] + amount;
        uint256 cap = priceScaleOf[asset] * (MAX_HOLDING_VALUE / ORACLE_MAX_PRICE_WAD);
        if (units > cap) revert DepositCapExceeded(asset, cap);
        collateralOf[msg.sender][asset] = units;
        asset.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(msg.sender, asset, amount);
        emit PositionChanged(msg.sender);
        _clearFlagIfRecovered(msg.sender);
    }

    /// @notice Withdraws collateral. With debt outstanding the account must stay above the initial
    /// margin and the circuit breaker must not have tripped for any collateral it holds.
    function withdraw(address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = collateralOf[msg.sender][asset];
        if (amount > available) revert InsufficientCollateral(msg.sender, asset, available, amount);
        uint256 debt = debtOf[msg.sender];
        if (debt > 0) {
            // Priced before the withdrawal, so the withdrawn asset's oracle is checked too.
            Holding[] memory holdings = _recordHoldings(msg.sender, false);
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
        _clearFlagIfRecovered(msg.sender);
    }

    function borrow(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 liquidity = IERC20Minimal(debtAsset).balanceOf(address(this));
        if (amount > liquidity) revert InsufficientLiquidity(liquidity, amount);
        uint256 debt = debtOf[msg.sender] + amount;
        if (debt > MAX_DEBT) revert DebtCapExceeded(MAX_DEBT);
        Holding[] memory holdings = _recordHoldings(msg.sender, false);
        _requireNoAnomaly(holdings);
        _requireInitialMargin(msg.sender, _position(holdings, debt));
        debtOf[msg.sender] = debt;
        debtAsset.safeTransfer(msg.sender, amount);
        emit Borrowed(msg.sender, amount);
        emit PositionChanged(msg.sender);
        _clearFlagIfRecovered(msg.sender);
    }

    function repay(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 debt = debtOf[msg.sender];
        if (amount > debt) revert RepayExceedsDebt(msg.sender, debt, amount);
        debtOf[msg.sender] = debt - amount;
        debtAsset.safeTransferFrom(msg.sender, address(this), amount);
        emit Repaid(msg.sender, amount);
        emit PositionChanged(msg.sender);
        _clearFlagIfRecovered(msg.sender);
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
        Position memory position = _position(_peekHoldings(account, false), debtOf[account]);
        return (position.collateralValue, position.debt, position.requirement);
    }

    /// @inheritdoc IMarginMarket
    /// @dev The same valuation at the router's open-path price: a collateral whose exactly two valid
    /// feeds disagree is valued at the higher one, so a single feed cannot open the permissionless path.
    function openLiquidationHealth(address account)
        external
        view
        returns (uint256 collateralValue, uint256 debtValue, uint256 requirement)
    {
        Position memory position = _position(_peekHoldings(account, true), debtOf[account]);
        return (position.collateralValue, position.debt, position.requirement);
    }

    /// @inheritdoc IMarginMarket
    function isLiquidatable(address account) external view returns (bool) {
        return _isLiquidatable(_position(_peekHoldings(account, false), debtOf[account]));
    }

    /// @inheritdoc IMarginMarket
    function maxRepay(address account) external view returns (uint256) {
        return _maxRepay(_position(_peekHoldings(account, false), debtOf[account]));
    }

    /// @inheritdoc IMarginMarket
    function previewSeize(address account, uint256 repayAmount) external view returns (uint256 seizedValue) {
        Holding[] memory holdings = _peekHoldings(account, false);
        Position memory position = _position(holdings, debtOf[account]);
        bool seizeAll = repayAmount >= position.repayToSeizeAll;
        for (uint256 i = 0; i < holdings.length; ++i) {
            if (!holdings[i].priced) continue;
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
        Position memory position = _position(_peekHoldings(account, false), debtOf[account]);
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
        Holding[] memory holdings = _recordHoldings(account, true);
        Position memory before = _position(holdings, debtOf[account]);
        uint256 maxRepayAmount = _maxRepay(before); // zero iff not liquidatable
        if (maxRepayAmount == 0) revert NotLiquidatable(account);
        if (repayAmount > maxRepayAmount) revert RepayAboveMax(repayAmount, maxRepayAmount);

        bool seizeAll = repayAmount >= before.repayToSeizeAll;
        uint256[] memory seizedUnits = new uint256[](holdings.length);
        for (uint256 i = 0; i < holdings.length; ++i) {
            Holding memory holding = holdings[i];
            if (!holding.priced) continue; // lapsed dust stays with the account
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
            if (
                WadMath.mulLessThan(
                    afterwards.collateralValue, before.requirement, before.collateralValue, afterwards.requirement
                )
            ) {
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

    /// @dev Asks the settlement to clear `account`'s unhealthy flag; it refuses unless the account is
    /// healthy. Never reverts: a failure here must not block the action that called it.
    function _clearFlagIfRecovered(address account) private {
        address settlement_ = settlement;
        if (settlement_ == address(0)) return;
        bytes32 marketId = keccak256(abi.encode(address(this)));
        (bool ok, bytes memory flaggedAt) =
            settlement_.staticcall(abi.encodeCall(IUnhealthyFlags.unhealthySince, (marketId, account)));
        if (!ok || flaggedAt.length != 32 || abi.decode(flaggedAt, (uint256)) == 0) return;
        (ok,) = settlement_.call(abi.encodeCall(IUnhealthyFlags.clearUnhealthy, (marketId, account)));
        ok; // refused while the account is still unhealthy: the flag stays, as it should
    }

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
            holdings[count].priceScale = priceScaleOf[asset];
            ++count;
        }
        assembly ("memory-safe") {
            mstore(holdings, count)
        }
    }

    /// @dev Prices the holdings from the router's views, at the open-path price if `openPath`; lapsed
    /// dust is left unpriced (see the contract notes).
    function _peekHoldings(address account, bool openPath) private view returns (Holding[] memory holdings) {
        holdings = _listHoldings(account);
        for (uint256 i = 0; i < holdings.length; ++i) {
            Holding memory holding = holdings[i];
            if (openPath) {
                try oracleRouter.peekForOpenPath(holding.asset) returns (
                    uint256 priceWad, uint256 volatilityWad, uint256 flags
                ) {
                    (holding.priceWad, holding.volatilityWad, holding.flags) = (priceWad, volatilityWad, flags);
                    holding.priced = true;
                } catch (bytes memory reason) {
                    _requireDust(holding, reason);
                }
            } else {
                try oracleRouter.peek(holding.asset) returns (uint256 priceWad, uint256 volatilityWad, uint256 flags) {
                    (holding.priceWad, holding.volatilityWad, holding.flags) = (priceWad, volatilityWad, flags);
                    holding.priced = true;
                } catch (bytes memory reason) {
                    _requireDust(holding, reason);
                }
            }
        }
    }

    /// @dev Like `_peekHoldings`, but records each observation in the router (same values, same block).
    /// Only a liquidation (`allowDust`) proceeds past lapsed dust; borrow and withdraw need every price.
    function _recordHoldings(address account, bool allowDust) private returns (Holding[] memory holdings) {
        holdings = _listHoldings(account);
        for (uint256 i = 0; i < holdings.length; ++i) {
            Holding memory holding = holdings[i];
            if (!allowDust) {
                (holding.priceWad, holding.volatilityWad, holding.flags) = oracleRouter.update(holding.asset);
                holding.priced = true;
                continue;
            }
            try oracleRouter.update(holding.asset) returns (uint256 priceWad, uint256 volatilityWad, uint256 flags) {
                (holding.priceWad, holding.volatilityWad, holding.flags) = (priceWad, volatilityWad, flags);
                holding.priced = true;
            } catch (bytes memory reason) {
                _requireDust(holding, reason);
            }
        }
    }

    /// @dev A holding the router could not price may be skipped only if it was worth at most `dustDebt`
    /// at the router's last recorded price; otherwise the router's revert is re-raised as it was.
    function _requireDust(Holding memory holding, bytes memory reason) private view {
        (uint128 lastPriceWad,,) = oracleRouter.stateOf(holding.asset);
        if (holding.units.mulDivUp(lastPriceWad, holding.priceScale) > dustDebt) {
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    /// @dev Values the priced holdings (writing each one's market value into it) against `debt`.
    function _position(Holding[] memory holdings, uint256 debt) private view returns (Position memory position) {
        for (uint256 i = 0; i < holdings.length; ++i) {
            Holding memory holding = holdings[i];
            if (!holding.priced) continue;
            CollateralParams memory params = collateralParams[holding.asset];
            uint256 marketValue = holding.units.mulDivDown(holding.priceWad, holding.priceScale);
            holding.marketValue = marketValue;
            position.marketValue += marketValue;
            position.collateralValue += marketValue.mulWadDown(WAD - _haircut(params, holding.volatilityWad));
            position.repayToSeizeAll += marketValue.mulDivUp(WAD, WAD + params.liquidationBonusWad);
        }
        // Collateral that covers the debt but not the debt plus the bonus: repaying the whole debt buys
        // all of it (the bonus is capped at what it holds beyond the debt), so no shortfall arises.
        if (position.repayToSeizeAll < debt && debt <= position.marketValue) position.repayToSeizeAll = debt;
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

    /// @dev The circuit breaker (contract notes): a jump on record, or feeds that disagree with no
    /// agreeing majority. A down feed alone, or one outlier among three, reports (the flag stays
    /// visible) but does not halt: the sane feeds price.
    function _requireNoAnomaly(Holding[] memory holdings) private view {
        for (uint256 i = 0; i < holdings.length; ++i) {
            uint256 flags = holdings[i].flags;
            if (flags == 0) continue;
            bool disputed = flags & ORACLE_FLAG_DEVIATION != 0 && !oracleRouter.isCorroborated(holdings[i].asset);
            if (flags & ORACLE_FLAG_JUMP != 0 || disputed) revert OracleAnomaly(holdings[i].asset, flags);
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

    /// @dev A token's decimals, at most 18 (beyond that the value scale would not fit the math).
    function _decimalsOf(address token) private view returns (uint8 decimals) {
        (bool ok, bytes memory data) = token.staticcall(abi.encodeWithSignature("decimals()"));
        if (!ok || data.length < 32) revert InvalidToken(token);
        uint256 value = abi.decode(data, (uint256));
        if (value > 18) revert InvalidToken(token);
        // casting to 'uint8' is safe because value <= 18
        // forge-lint: disable-next-line(unsafe-typecast)
        decimals = uint8(value);
    }
}
