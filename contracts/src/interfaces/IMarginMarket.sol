// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMarginMarket
/// @notice The adapter a margin protocol implements so the Backstop network can watch its accounts
/// and liquidate them through `LiquidationSettlement`.
/// @dev This interface is a contract with the off-chain nodes and solvers (see protocol/abi): change it
/// only together with the Rust bindings. All values are in debt-asset units, in the debt token's own
/// decimals (e.g. 1e6 per dollar of a USDC debt), so a value and a repay can be compared directly.
interface IMarginMarket {
    /// @notice Emitted on every change of an account's position (deposit, withdraw, borrow, repay,
    /// liquidation), so nodes can index the set of accounts from logs alone.
    event PositionChanged(address indexed account);

    /// @notice The market's administrator; only this address may register the market with a settlement.
    function admin() external view returns (address);

    /// @notice The single asset accounts borrow and liquidators repay.
    function debtAsset() external view returns (address);

    /// @notice The assets accounts may post as collateral.
    function collateralAssets() external view returns (address[] memory);

    /// @notice An account's health in debt units.
    /// @return collateralValue Value of the account's collateral at the oracle price, as the market counts
    /// it for maintenance: an adapter may report it risk-adjusted (after haircuts), as the MarginEngine does.
    /// @return debtValue The account's debt.
    /// @return requirement Maintenance requirement, `debtValue * maintenanceRatio`.
    /// The account is liquidatable iff `debtValue > 0 && collateralValue < requirement`.
    function accountHealth(address account)
        external
        view
        returns (uint256 collateralValue, uint256 debtValue, uint256 requirement);

    /// @notice An account's health as the market counts it for a liquidation *without* an award (the
    /// settlement's open fallback path). Same shape and rule as `accountHealth`; a market may value
    /// disputed prices favourably here, so that a single disagreeing oracle can let the auction path act
    /// but never open the permissionless one (the MarginEngine values a collateral whose two feeds
    /// disagree at the higher). A market without such a distinction returns `accountHealth`.
    function openLiquidationHealth(address account)
        external
        view
        returns (uint256 collateralValue, uint256 debtValue, uint256 requirement);

    /// @notice Whether `account` is below maintenance and may be liquidated.
    function isLiquidatable(address account) external view returns (bool);

    /// @notice Largest repay one liquidation of `account` may use (close factor), in debt units;
    /// zero when the account is not liquidatable.
    function maxRepay(address account) external view returns (uint256);

    /// @notice Collateral value (debt units) a liquidation repaying `repayAmount` would seize, bonus included.
    function previewSeize(address account, uint256 repayAmount) external view returns (uint256 seizedValue);

    /// @notice Oracle price of one whole token of `asset` (10^decimals units) in units of account, WAD
    /// (the debt asset, worth one unit of account, is 1e18).
    function price(address asset) external view returns (uint256);

    /// @notice Liquidates `account`. Only the settlement contract may call.
    /// @dev Pulls `repayAmount` of the debt asset from msg.sender (transferFrom), reduces the account's
    /// debt, transfers the seized collateral (bonus included, rounded in the protocol's favour) to
    /// `receiver` and emits `PositionChanged`.
    /// @return seizedValue Value of the seized collateral in debt units.
    function liquidate(address account, uint256 repayAmount, address receiver) external returns (uint256 seizedValue);
}
