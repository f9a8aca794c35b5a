// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.28;

import {IMarginMarket} from "../interfaces/IMarginMarket.sol";
import {SafeTransferLib} from "../libraries/SafeTransferLib.sol";
import {WadMath} from "../libraries/WadMath.sol";
import {Id, IMorpho, MarketParams, Market, Position} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";
import {IOracle} from "@morpho-org/morpho-blue/src/interfaces/IOracle.sol";
import {ORACLE_PRICE_SCALE} from "@morpho-org/morpho-blue/src/libraries/ConstantsLib.sol";
import {MathLib, WAD} from "@morpho-org/morpho-blue/src/libraries/MathLib.sol";
import {SharesMathLib} from "@morpho-org/morpho-blue/src/libraries/SharesMathLib.sol";
import {MarketParamsLib} from "@morpho-org/morpho-blue/src/libraries/MarketParamsLib.sol";
import {MorphoBalancesLib} from "@morpho-org/morpho-blue/src/libraries/periphery/MorphoBalancesLib.sol";

/// @title MorphoPreLiquidation
/// @notice Backstop's adapter for one Morpho Blue market, without any change to Morpho: borrowers who
/// opt in (`morpho.setAuthorization(thisContract, true)`) can be *pre-liquidated* while their LTV is in the
/// band (preLltv, LLTV], and only by the settlement contract, that is, by the winner of a Backstop auction.
/// A pre-liquidation repays part of the borrower's debt on Morpho on their behalf and withdraws collateral
/// worth the repay times an incentive factor to the winner. Beyond LLTV nothing here applies: Morpho's own
/// permissionless `liquidate` is open to anyone, as it always was. Backstop only adds a gentler, earlier,
/// auctioned step in front of it.
///
/// Parameters, in the spirit of (and with the bounds of) Morpho's PreLiquidation, all WAD and immutable:
/// - `preLltv`: the LTV above which pre-liquidation starts, 0 < preLltv < LLTV;
/// - `preLCF1 <= preLCF2`, `preLCF1 <= 1`, `preLCF2 > 0`: the close factor, the share of the borrow shares one
///   pre-liquidation may repay, growing linearly from preLCF1 at preLltv to preLCF2 at LLTV (above 1: the
///   whole position can be closed from the LTV where the line crosses 1);
/// - `1 <= preLIF1 <= preLIF2 <= 1 / LLTV`: the incentive factor, collateral value seized per unit repaid,
///   growing linearly the same way. The upper bound keeps a pre-liquidation from lowering the position's
///   health: with LTV <= LLTV and LIF <= 1/LLTV, LTV * LIF <= 1, so the LTV does not rise.
///
/// Math is Morpho's own (its libraries are imported from the npm package, not rewritten): borrowed assets
/// are the borrow shares converted up with the market's totals after interest accrual; collateral is quoted
/// down at the market oracle (`price()` scaled by 1e36); the LTV is rounded up; the close factor applies to
/// shares; seized collateral is computed from the repaid shares converted down, rounded down. Every rounding
/// favours the borrower (who loses less collateral) and Morpho's lenders (who are repaid at least what the
/// shares are worth). Views accrue interest virtually (Morpho's MorphoBalancesLib), so `maxRepay` and
/// `previewSeize` read now equal what `liquidate` does in the same block.
///
/// Indexing: positions change on Morpho, so nodes follow Morpho's events for `morphoMarketId` (see
/// contracts/README.md, "Morpho Blue"); this contract emits `PreLiquidated` and `PositionChanged` for its
/// own liquidations.
/// @dev One instance per Morpho market. The settlement's open fallback path never opens through this adapter
/// (`openLiquidationHealth` reports no requirement): Morpho's own `liquidate` is the fallback.
contract MorphoPreLiquidation is IMarginMarket {
    using MathLib for uint256;
    using SharesMathLib for uint256;
    using MarketParamsLib for MarketParams;
    using MorphoBalancesLib for IMorpho;
    using SafeTransferLib for address;

    /// @notice Where a position stands relative to this adapter's band.
    /// @dev `NoDebt`: no borrow shares. `Healthy`: LTV <= preLltv. `PreLiquidation`: preLltv < LTV <= LLTV
    /// (auction-only, opted-in borrowers). `MorphoLiquidation`: LTV > LLTV, Morpho's `liquidate` is open.
    enum Band {
        NoDebt,
        Healthy,
        PreLiquidation,
        MorphoLiquidation
    }

    /// @notice The pre-liquidation parameters (WAD), as in Morpho's PreLiquidation.
    struct PreLiquidationParams {
        uint256 preLltv;
        uint256 preLCF1;
        uint256 preLCF2;
        uint256 preLIF1;
        uint256 preLIF2;
    }

    /// @notice A position as this adapter sees it now (interest accrued virtually).
    /// @param band See `Band`.
    /// @param authorized Whether the borrower authorized this contract on Morpho (opted in).
    /// @param ltv Borrowed assets over quoted collateral, WAD, rounded up; type(uint256).max with debt and no
    /// collateral value; zero without debt.
    /// @param closeFactor, incentiveFactor The interpolated preLCF and preLIF (zero outside the band).
    /// @param maxRepay What one pre-liquidation may repay now (zero unless liquidatable through this adapter).
    struct Status {
        Band band;
        bool authorized;
        uint256 ltv;
        uint256 closeFactor;
        uint256 incentiveFactor;
        uint256 maxRepay;
    }

    /// @dev One read of the market and the position, interest accrued virtually.
    struct Snapshot {
        uint256 borrowShares;
        uint256 collateral;
        uint256 totalBorrowAssets;
        uint256 totalBorrowShares;
        uint256 collateralPrice;
        uint256 collateralValue;
        uint256 borrowed;
    }

    /// @notice A pre-liquidation through the settlement; Morpho also emits `Repay` (caller = this contract,
    /// onBehalf = account) and `WithdrawCollateral` (receiver = the winner's executor) for it.
    event PreLiquidated(
        address indexed account,
        address indexed receiver,
        uint256 repaidAssets,
        uint256 repaidShares,
        uint256 seizedAssets,
        uint256 seizedValue
    );

    error ZeroAddress();
    error NonexistentMarket(Id id);
    error InvalidPreLltv(uint256 preLltv, uint256 lltv);
    error InvalidPreLCF(uint256 preLCF1, uint256 preLCF2);
    error InvalidPreLIF(uint256 preLIF1, uint256 preLIF2, uint256 maxPreLIF);
    error UnsupportedToken(address token);
    error UnknownAsset(address asset);
    error OnlySettlement(address caller);
    error ZeroRepay();
    error NotAuthorized(address account);
    error NotPreLiquidatable(address account, Band band);
    error RepayAboveMax(uint256 repayAmount, uint256 maxRepayAmount);
    error RepayTooSmall(uint256 repayAmount);
    error RepayMismatch(uint256 repayAmount, uint256 repaidAssets);

    /// @dev Token decimals above this would make `price`'s scale overflow; no real token comes close.
    uint256 private constant MAX_DECIMALS = 36;

    IMorpho public immutable morpho;
    Id public immutable morphoMarketId;
    /// @notice The only caller of `liquidate`: Backstop's LiquidationSettlement on this chain.
    address public immutable settlement;
    /// @inheritdoc IMarginMarket
    address public immutable admin;

    address private immutable loanToken;
    address private immutable collateralToken;
    address private immutable oracle;
    address private immutable irm;
    uint256 private immutable lltv;

    uint256 public immutable preLltv;
    uint256 public immutable preLCF1;
    uint256 public immutable preLCF2;
    uint256 public immutable preLIF1;
    uint256 public immutable preLIF2;

    /// @dev `price(collateral)` = oracle price * 10^collateralDecimals / 10^(18 + loanDecimals).
    uint256 private immutable collateralUnit;
    uint256 private immutable priceDenominator;

    /// @param admin_ The market's Backstop administrator: registers this adapter with the settlement and sets
    /// its beneficiary, reserve premium and pause. It has no power over this contract or Morpho.
    /// @param morpho_ Morpho Blue.
    /// @param id The Morpho market (must exist).
    /// @param settlement_ Backstop's LiquidationSettlement on this chain.
    /// @param params See the contract notes for their meaning and bounds.
    constructor(address admin_, IMorpho morpho_, Id id, address settlement_, PreLiquidationParams memory params) {
        if (admin_ == address(0) || address(morpho_) == address(0) || settlement_ == address(0)) {
            revert ZeroAddress();
        }
        if (morpho_.market(id).lastUpdate == 0) revert NonexistentMarket(id);
        MarketParams memory marketParams_ = morpho_.idToMarketParams(id);

        uint256 maxPreLIF = WAD.wDivDown(marketParams_.lltv);
        if (params.preLltv == 0 || params.preLltv >= marketParams_.lltv) {
            revert InvalidPreLltv(params.preLltv, marketParams_.lltv);
        }
        if (params.preLCF1 > params.preLCF2 || params.preLCF1 > WAD || params.preLCF2 == 0) {
            revert InvalidPreLCF(params.preLCF1, params.preLCF2);
        }
        if (params.preLIF1 < WAD || params.preLIF1 > params.preLIF2 || params.preLIF2 > maxPreLIF) {
            revert InvalidPreLIF(params.preLIF1, params.preLIF2, maxPreLIF);
        }

        admin = admin_;
        morpho = morpho_;
        morphoMarketId = id;
        settlement = settlement_;
        loanToken = marketParams_.loanToken;
        collateralToken = marketParams_.collateralToken;
        oracle = marketParams_.oracle;
        irm = marketParams_.irm;
        lltv = marketParams_.lltv;
        preLltv = params.preLltv;
        preLCF1 = params.preLCF1;
        preLCF2 = params.preLCF2;
        preLIF1 = params.preLIF1;
        preLIF2 = params.preLIF2;
        collateralUnit = 10 ** _decimalsOf(marketParams_.collateralToken);
        priceDenominator = 10 ** (18 + _decimalsOf(marketParams_.loanToken));

        // Morpho pulls each repay from this contract; the allowance is only ever used inside `liquidate`.
        marketParams_.loanToken.safeApprove(address(morpho_), type(uint256).max);
    }

    // ---------------------------------------------------------------- parameters

    /// @notice The Morpho market this adapter serves.
    function marketParams() public view returns (MarketParams memory) {
        return
            MarketParams({loanToken: loanToken, collateralToken: collateralToken, oracle: oracle, irm: irm, lltv: lltv});
    }

    function preLiquidationParams() external view returns (PreLiquidationParams memory) {
        return PreLiquidationParams({
            preLltv: preLltv, preLCF1: preLCF1, preLCF2: preLCF2, preLIF1: preLIF1, preLIF2: preLIF2
        });
    }

    // ---------------------------------------------------------------- IMarginMarket views

    /// @inheritdoc IMarginMarket
    function debtAsset() external view returns (address) {
        return loanToken;
    }

    /// @inheritdoc IMarginMarket
    function collateralAssets() external view returns (address[] memory assets) {
        assets = new address[](1);
        assets[0] = collateralToken;
    }

    /// @inheritdoc IMarginMarket
    /// @dev `collateralValue` is the collateral quoted at the oracle (loan-token units, rounded down),
    /// `debtValue` the borrowed assets with interest (rounded up), and `requirement` the collateral value the
    /// band requires, `debtValue / preLltv` (rounded up), so health `collateralValue / requirement` is
    /// `preLltv / LTV` and the rule `collateralValue < requirement` is exactly Morpho-rounded `LTV > preLltv`.
    /// For a position this adapter cannot act on although its LTV is above preLltv (the borrower did not opt
    /// in, the LTV is beyond LLTV where Morpho's `liquidate` applies, or a dust position with nothing to
    /// repay) `requirement` is zero: not liquidatable *here*. `status` tells these cases apart.
    function accountHealth(address account)
        external
        view
        returns (uint256 collateralValue, uint256 debtValue, uint256 requirement)
    {
        Snapshot memory snapshot = _snapshot(account);
        Band band = _band(snapshot);
        collateralValue = snapshot.collateralValue;
        debtValue = snapshot.borrowed;
        if (band == Band.Healthy || (band == Band.PreLiquidation && _maxRepayNow(account, snapshot) > 0)) {
            requirement = snapshot.borrowed.wDivUp(preLltv);
        }
    }

    /// @inheritdoc IMarginMarket
    /// @dev Always reports no requirement: the settlement's permissionless open path must never open through
    /// this adapter. For Morpho the fallback is Morpho's own `liquidate` beyond LLTV, open to anyone; inside
    /// the band only an auction winner may act.
    function openLiquidationHealth(address account)
        external
        view
        returns (uint256 collateralValue, uint256 debtValue, uint256 requirement)
    {
        Snapshot memory snapshot = _snapshot(account);
        return (snapshot.collateralValue, snapshot.borrowed, 0);
    }

    /// @inheritdoc IMarginMarket
    /// @dev True iff the borrower opted in, preLltv < LTV <= LLTV, and the close factor allows a non-zero repay.
    function isLiquidatable(address account) external view returns (bool) {
        return _maxRepayIfLiquidatable(account, _snapshot(account)) > 0;
    }

    /// @inheritdoc IMarginMarket
    /// @dev The interpolated close factor applied to the borrow shares, in loan-token units: the shares'
    /// assets rounded down, or the whole debt (rounded up, repaid by shares) when the close factor reaches 1.
    function maxRepay(address account) external view returns (uint256) {
        return _maxRepayIfLiquidatable(account, _snapshot(account));
    }

    /// @inheritdoc IMarginMarket
    /// @dev Zero when the account is not liquidatable through this adapter. For a repay above `maxRepay` it
    /// values what the repay would buy were it allowed (`liquidate` would revert).
    function previewSeize(address account, uint256 repayAmount) external view returns (uint256 seizedValue) {
        Snapshot memory snapshot = _snapshot(account);
        if (_maxRepayIfLiquidatable(account, snapshot) == 0 || repayAmount == 0) return 0;
        (, uint256 incentiveFactor) = _factors(snapshot);
        (,, uint256 seizedAssets) = _quote(snapshot, repayAmount, incentiveFactor);
        return seizedAssets.mulDivDown(snapshot.collateralPrice, ORACLE_PRICE_SCALE);
    }

    /// @inheritdoc IMarginMarket
    /// @dev For the collateral: the market oracle's price (loan units per collateral unit, scaled by 1e36)
    /// converted to whole tokens: `oraclePrice * 10^collateralDecimals / 10^(18 + loanDecimals)`.
    function price(address asset) external view returns (uint256) {
        if (asset == loanToken) return WAD;
        if (asset != collateralToken) revert UnknownAsset(asset);
        return WadMath.mulDivDown(IOracle(oracle).price(), collateralUnit, priceDenominator);
    }

    /// @notice Where `account` stands, why it is or is not liquidatable here, and the factors that apply.
    function status(address account) external view returns (Status memory result) {
        Snapshot memory snapshot = _snapshot(account);
        result.band = _band(snapshot);
        result.authorized = morpho.isAuthorized(account, address(this));
        if (snapshot.borrowed > 0) {
            result.ltv =
                snapshot.collateralValue == 0 ? type(uint256).max : snapshot.borrowed.wDivUp(snapshot.collateralValue);
        }
        if (result.band == Band.PreLiquidation) {
            (result.closeFactor, result.incentiveFactor) = _factors(snapshot);
            if (result.authorized) result.maxRepay = _maxRepay(snapshot, result.closeFactor);
        }
    }

    // ---------------------------------------------------------------- liquidation

    /// @inheritdoc IMarginMarket
    /// @dev Accrues interest, re-checks the band and the close factor, pulls exactly `repayAmount` of the loan
    /// token from the settlement, repays it on Morpho on the account's behalf (by assets; by all the shares
    /// when it is the whole debt, which then costs exactly `repayAmount`), and withdraws the seized collateral
    /// to `receiver` through the borrower's authorization. Morpho's `withdrawCollateral` re-checks that the
    /// position stays healthy at LLTV.
    function liquidate(address account, uint256 repayAmount, address receiver) external returns (uint256 seizedValue) {
        if (msg.sender != settlement) revert OnlySettlement(msg.sender);
        if (repayAmount == 0) revert ZeroRepay();
        if (receiver == address(0)) revert ZeroAddress();
        if (!morpho.isAuthorized(account, address(this))) revert NotAuthorized(account);

        MarketParams memory params = marketParams();
        morpho.accrueInterest(params);
        (uint256 repaidShares, bool wholeDebt, uint256 seizedAssets, uint256 collateralPrice) =
            _checkedQuote(account, repayAmount);

        loanToken.safeTransferFrom(msg.sender, address(this), repayAmount);
        uint256 repaidAssets = _repay(params, account, repayAmount, repaidShares, wholeDebt);
        morpho.withdrawCollateral(params, seizedAssets, account, receiver);

        seizedValue = seizedAssets.mulDivDown(collateralPrice, ORACLE_PRICE_SCALE);
        emit PreLiquidated(account, receiver, repaidAssets, repaidShares, seizedAssets, seizedValue);
        emit PositionChanged(account);
    }

    // ---------------------------------------------------------------- internals

    /// @dev After interest accrual the snapshot's virtual accrual adds nothing: these are Morpho's numbers.
    function _checkedQuote(address account, uint256 repayAmount)
        private
        view
        returns (uint256 repaidShares, bool wholeDebt, uint256 seizedAssets, uint256 collateralPrice)
    {
        Snapshot memory snapshot = _snapshot(account);
        Band band = _band(snapshot);
        if (band != Band.PreLiquidation) revert NotPreLiquidatable(account, band);
        (uint256 closeFactor, uint256 incentiveFactor) = _factors(snapshot);
        uint256 maxRepayAmount = _maxRepay(snapshot, closeFactor);
        if (repayAmount > maxRepayAmount) revert RepayAboveMax(repayAmount, maxRepayAmount);
        (repaidShares, wholeDebt, seizedAssets) = _quote(snapshot, repayAmount, incentiveFactor);
        if (repaidShares == 0 || seizedAssets == 0) revert RepayTooSmall(repayAmount);
        collateralPrice = snapshot.collateralPrice;
    }

    /// @dev Repays on Morpho on the account's behalf; Morpho pulls the assets from this contract.
    function _repay(
        MarketParams memory params,
        address account,
        uint256 repayAmount,
        uint256 repaidShares,
        bool wholeDebt
    ) private returns (uint256 repaidAssets) {
        if (wholeDebt) {
            (repaidAssets,) = morpho.repay(params, 0, repaidShares, account, "");
        } else {
            (repaidAssets,) = morpho.repay(params, repayAmount, 0, account, "");
        }
        // Equal by construction (see _quote); checked so no repay can ever be left in this contract.
        if (repaidAssets != repayAmount) revert RepayMismatch(repayAmount, repaidAssets);
    }

    /// @dev Morpho's market totals after virtual interest accrual (equal to the stored ones once accrued),
    /// the position, and the values Morpho's health check computes from them.
    function _snapshot(address account) private view returns (Snapshot memory snapshot) {
        (,, snapshot.totalBorrowAssets, snapshot.totalBorrowShares) = morpho.expectedMarketBalances(marketParams());
        Position memory position = morpho.position(morphoMarketId, account);
        snapshot.borrowShares = position.borrowShares;
        snapshot.collateral = position.collateral;
        snapshot.borrowed = snapshot.borrowShares.toAssetsUp(snapshot.totalBorrowAssets, snapshot.totalBorrowShares);
        if (snapshot.collateral == 0) return snapshot; // nothing to price
        snapshot.collateralPrice = IOracle(oracle).price();
        snapshot.collateralValue = snapshot.collateral.mulDivDown(snapshot.collateralPrice, ORACLE_PRICE_SCALE);
    }

    /// @dev The comparisons are Morpho's `_isHealthy` (maxBorrow = collateralValue * LLTV, rounded down),
    /// once at LLTV and once at preLltv, so the bands meet exactly where Morpho's liquidation starts.
    function _band(Snapshot memory snapshot) private view returns (Band) {
        if (snapshot.borrowShares == 0) return Band.NoDebt;
        if (snapshot.borrowed > snapshot.collateralValue.wMulDown(lltv)) return Band.MorphoLiquidation;
        if (snapshot.borrowed > snapshot.collateralValue.wMulDown(preLltv)) return Band.PreLiquidation;
        return Band.Healthy;
    }

    /// @dev Linear interpolation between the band's edges, as in Morpho's PreLiquidation. Only in the band,
    /// where collateralValue > 0 and preLltv < ltv <= LLTV (the band's checks bound the rounded-up LTV).
    function _factors(Snapshot memory snapshot) private view returns (uint256 closeFactor, uint256 incentiveFactor) {
        uint256 ltv = snapshot.borrowed.wDivUp(snapshot.collateralValue);
        uint256 quotient = (ltv - preLltv).wDivDown(lltv - preLltv);
        closeFactor = quotient.wMulDown(preLCF2 - preLCF1) + preLCF1;
        incentiveFactor = quotient.wMulDown(preLIF2 - preLIF1) + preLIF1;
    }

    /// @dev The close factor caps the repaid *shares* (Morpho's PreLiquidation). In assets: the capped shares
    /// converted down (repaying that many assets burns at most that many shares), or, when the close factor
    /// covers every share, the whole debt rounded up (repaid by shares, costing exactly that).
    function _maxRepay(Snapshot memory snapshot, uint256 closeFactor) private pure returns (uint256) {
        uint256 repayableShares = snapshot.borrowShares.wMulDown(closeFactor);
        if (repayableShares >= snapshot.borrowShares) return snapshot.borrowed;
        return repayableShares.toAssetsDown(snapshot.totalBorrowAssets, snapshot.totalBorrowShares);
    }

    function _maxRepayIfLiquidatable(address account, Snapshot memory snapshot) private view returns (uint256) {
        if (_band(snapshot) != Band.PreLiquidation) return 0;
        return _maxRepayNow(account, snapshot);
    }

    /// @dev For a position known to be in the band: zero unless the borrower opted in.
    function _maxRepayNow(address account, Snapshot memory snapshot) private view returns (uint256) {
        if (!morpho.isAuthorized(account, address(this))) return 0;
        (uint256 closeFactor,) = _factors(snapshot);
        return _maxRepay(snapshot, closeFactor);
    }

    /// @dev What repaying `repayAmount` does: the shares Morpho burns for it (assets converted down, as in
    /// Morpho's `repay`), capped at the position's shares (then `repayAmount` >= the whole debt rounded up, and
    /// the repay goes by shares), and the collateral seized for the shares' assets (rounded down) times the
    /// incentive factor, converted at the oracle price (rounded down), as in Morpho's PreLiquidation.
    function _quote(Snapshot memory snapshot, uint256 repayAmount, uint256 incentiveFactor)
        private
        pure
        returns (uint256 repaidShares, bool wholeDebt, uint256 seizedAssets)
    {
        repaidShares = repayAmount.toSharesDown(snapshot.totalBorrowAssets, snapshot.totalBorrowShares);
        if (repaidShares >= snapshot.borrowShares) {
            repaidShares = snapshot.borrowShares;
            wholeDebt = true;
        }
        seizedAssets = repaidShares.toAssetsDown(snapshot.totalBorrowAssets, snapshot.totalBorrowShares)
            .wMulDown(incentiveFactor).mulDivDown(ORACLE_PRICE_SCALE, snapshot.collateralPrice);
    }

    function _decimalsOf(address token) private view returns (uint256 decimals) {
        (bool ok, bytes memory returned) = token.staticcall(abi.encodeWithSignature("decimals()"));
        if (!ok || returned.length < 32) revert UnsupportedToken(token);
        decimals = abi.decode(returned, (uint256));
        if (decimals > MAX_DECIMALS) revert UnsupportedToken(token);
    }
}
