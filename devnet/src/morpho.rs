//! A real protocol on the devnet: Morpho Blue 1.0.0 (deployed from its compiled artifact,
//! `protocol/abi/Morpho.json`), one market (a loan token against a collateral token, a
//! settable oracle, a fixed-rate IRM), Backstop's `MorphoPreLiquidation` adapter for it,
//! registered on the chain's `LiquidationSettlement` with its own beneficiary, and borrowers
//! of whom some opted in (`setAuthorization(adapter, true)`) and some did not.
//!
//! Between preLltv and LLTV only a Backstop auction winner may pre-liquidate an opted-in
//! borrower; beyond LLTV Morpho's own `liquidate` is open to anyone, and [`MorphoKeeper`]
//! plays the first-come keeper that calls it.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use backstop_bindings::{
    FixedRateIrm, LiquidationSettlement, Morpho, MorphoOracleMock, MorphoPreLiquidation, TestToken,
};
use serde::Serialize;

use crate::chain::LocalChain;
use crate::keys::EvmKey;
use crate::DevnetError;

const E18: u128 = 1_000_000_000_000_000_000;
/// Morpho's oracle scale (`ORACLE_PRICE_SCALE`).
pub const ORACLE_PRICE_SCALE: u128 = E18 * E18;
/// Gas for Morpho calls that accrue interest and read the oracle (refunded when unused).
const MORPHO_CALL_GAS: u64 = 1_000_000;

/// The Morpho market and adapter the devnet deploys (WAD ratios; both tokens 18 decimals).
#[derive(Debug, Clone, Serialize)]
pub struct MorphoParameters {
    pub lltv_wad: u128,
    pub pre_lltv_wad: u128,
    pub pre_lcf1_wad: u128,
    pub pre_lcf2_wad: u128,
    pub pre_lif1_wad: u128,
    pub pre_lif2_wad: u128,
    /// Borrow rate per second, WAD.
    pub rate_per_second_wad: u128,
    /// Loan tokens per collateral token at start (whole tokens).
    pub initial_price: u128,
    /// Loan tokens lenders supply.
    pub liquidity: u128,
    /// Smallest premium the settlement accepts for this market, loan-token wei.
    pub reserve_premium: u128,
}

impl Default for MorphoParameters {
    /// Morpho's PreLiquidation example numbers: LLTV 86%, pre-liquidation from 80%.
    fn default() -> Self {
        Self {
            lltv_wad: 860_000_000_000_000_000,
            pre_lltv_wad: 800_000_000_000_000_000,
            pre_lcf1_wad: 200_000_000_000_000_000,
            pre_lcf2_wad: 800_000_000_000_000_000,
            pre_lif1_wad: 1_020_000_000_000_000_000,
            pre_lif2_wad: 1_050_000_000_000_000_000,
            rate_per_second_wad: E18 / 10 / (365 * 86_400), // 10% a year
            initial_price: 2_000,
            liquidity: 10_000_000 * E18,
            reserve_premium: E18 / 1_000,
        }
    }
}

impl MorphoParameters {
    /// The oracle price (1e36 scale) of `loan_per_collateral` loan tokens per collateral token.
    pub fn oracle_price(loan_per_collateral: u128) -> U256 {
        U256::from(loan_per_collateral) * U256::from(ORACLE_PRICE_SCALE)
    }
}

/// Addresses of the Morpho deployment on one chain.
#[derive(Debug, Clone, Serialize)]
pub struct MorphoDeployment {
    pub morpho: Address,
    pub loan_token: Address,
    pub collateral_token: Address,
    pub oracle: Address,
    pub irm: Address,
    pub lltv_wad: u128,
    /// Morpho's market id (`MarketParamsLib.id`).
    pub morpho_market_id: B256,
    pub adapter: Address,
    /// The market's id on the settlement (`keccak256(adapter)`).
    pub market_id: B256,
    /// Receives every premium of this market.
    pub beneficiary: Address,
    /// Supplies the market's liquidity.
    pub lender: Address,
    pub deploy_block: u64,
}

impl MorphoDeployment {
    fn market_params(&self) -> Morpho::MarketParams {
        Morpho::MarketParams {
            loanToken: self.loan_token,
            collateralToken: self.collateral_token,
            oracle: self.oracle,
            irm: self.irm,
            lltv: U256::from(self.lltv_wad),
        }
    }
}

/// Existing (mintable `TestToken`) tokens for the market: on the devnet, the engine's USD and
/// WETH, so solvers' executors already hold the loan token and price gas in WETH through
/// the adapter as through the engine.
#[derive(Debug, Clone, Copy)]
pub struct MarketTokens {
    pub loan: Address,
    pub collateral: Address,
}

/// Deploys Morpho Blue, the oracle mock, the IRM, the tokens unless given, the market (with
/// `liquidity` supplied by a lender) and the adapter, and registers the adapter on
/// `settlement` (the deployer is the adapter's admin) with a fresh beneficiary address.
pub async fn deploy(
    chain: &LocalChain,
    settlement: Address,
    parameters: &MorphoParameters,
    tokens: Option<MarketTokens>,
) -> Result<MorphoDeployment, DevnetError> {
    let provider = &chain.provider;
    let admin = chain.deployer_address();
    let deploy_block = provider.get_block_number().await.map_err(|error| chain.error("read block number", error))?;
    let morpho = Morpho::deploy(provider, admin).await.map_err(|error| chain.error("deploy Morpho Blue", error))?;
    let (loan, collateral) = match tokens {
        Some(tokens) => (TestToken::new(tokens.loan, provider), TestToken::new(tokens.collateral, provider)),
        None => {
            let loan = TestToken::deploy(provider, "Morpho Loan USD".into(), "mUSD".into())
                .await
                .map_err(|error| chain.error("deploy Morpho loan token", error))?;
            let collateral = TestToken::deploy(provider, "Morpho Wrapped Ether".into(), "mWETH".into())
                .await
                .map_err(|error| chain.error("deploy Morpho collateral token", error))?;
            (loan, collateral)
        }
    };
    let oracle = MorphoOracleMock::deploy(provider, MorphoParameters::oracle_price(parameters.initial_price))
        .await
        .map_err(|error| chain.error("deploy Morpho oracle", error))?;
    let irm = FixedRateIrm::deploy(provider, U256::from(parameters.rate_per_second_wad))
        .await
        .map_err(|error| chain.error("deploy Morpho IRM", error))?;
    chain.confirm("morpho.enableIrm", morpho.enableIrm(*irm.address()).send().await).await?;
    chain.confirm("morpho.enableLltv", morpho.enableLltv(U256::from(parameters.lltv_wad)).send().await).await?;
    let market_params = Morpho::MarketParams {
        loanToken: *loan.address(),
        collateralToken: *collateral.address(),
        oracle: *oracle.address(),
        irm: *irm.address(),
        lltv: U256::from(parameters.lltv_wad),
    };
    chain.confirm("morpho.createMarket", morpho.createMarket(market_params.clone()).send().await).await?;
    let morpho_market_id = alloy::primitives::keccak256(alloy::sol_types::SolValue::abi_encode(&(
        market_params.loanToken,
        market_params.collateralToken,
        market_params.oracle,
        market_params.irm,
        market_params.lltv,
    )));

    let pre = MorphoPreLiquidation::PreLiquidationParams {
        preLltv: U256::from(parameters.pre_lltv_wad),
        preLCF1: U256::from(parameters.pre_lcf1_wad),
        preLCF2: U256::from(parameters.pre_lcf2_wad),
        preLIF1: U256::from(parameters.pre_lif1_wad),
        preLIF2: U256::from(parameters.pre_lif2_wad),
    };
    let adapter = MorphoPreLiquidation::deploy(provider, admin, *morpho.address(), morpho_market_id, settlement, pre)
        .await
        .map_err(|error| chain.error("deploy MorphoPreLiquidation", error))?;

    // Lenders' liquidity.
    let lender = EvmKey::random().address();
    let liquidity = U256::from(parameters.liquidity);
    chain.confirm("mint Morpho liquidity", loan.mint(admin, liquidity).send().await).await?;
    chain.confirm("approve Morpho liquidity", loan.approve(*morpho.address(), liquidity).send().await).await?;
    chain
        .confirm(
            "morpho.supply",
            morpho.supply(market_params, liquidity, U256::ZERO, lender, Default::default()).send().await,
        )
        .await?;

    let beneficiary = EvmKey::random().address();
    let settlement_contract = LiquidationSettlement::new(settlement, provider);
    chain
        .confirm(
            "settlement.registerMarket(Morpho)",
            settlement_contract
                .registerMarket(*adapter.address(), beneficiary, U256::from(parameters.reserve_premium))
                .send()
                .await,
        )
        .await?;
    Ok(MorphoDeployment {
        morpho: *morpho.address(),
        loan_token: *loan.address(),
        collateral_token: *collateral.address(),
        oracle: *oracle.address(),
        irm: *irm.address(),
        lltv_wad: parameters.lltv_wad,
        morpho_market_id,
        adapter: *adapter.address(),
        market_id: backstop_protocol::id::market_id(*adapter.address()),
        beneficiary,
        lender,
        deploy_block,
    })
}

/// How one borrower is opened: collateral (wei), an LTV at the initial price (bps of the
/// collateral's value) and whether they authorize the adapter.
#[derive(Debug, Clone, Serialize)]
pub struct BorrowerProfile {
    pub collateral: U256,
    pub ltv_bps: u32,
    pub opted_in: bool,
}

/// An opened Morpho borrower.
#[derive(Clone)]
pub struct MorphoBorrower {
    pub key: EvmKey,
    pub profile: BorrowerProfile,
    pub borrowed: U256,
}

impl MorphoBorrower {
    pub fn address(&self) -> Address {
        self.key.address()
    }
}

/// Eight borrowers from 65% to 79% LTV at the initial price (preLltv 80%, LLTV 86%), six
/// opted in. An 8% drop puts the five from 74% inside the band (one of them not opted in);
/// from about 14% on, those from 74% are beyond LLTV unless Backstop pre-liquidated them
/// first, and from 25% every one is.
pub fn default_borrowers() -> Vec<BorrowerProfile> {
    [
        (6_500, true),
        (7_000, true),
        (7_200, false),
        (7_400, true),
        (7_500, true),
        (7_700, false),
        (7_800, true),
        (7_900, true),
    ]
    .into_iter()
    .map(|(ltv_bps, opted_in)| BorrowerProfile { collateral: U256::from(10 * E18), ltv_bps, opted_in })
    .collect()
}

/// A provider that signs for `keys` only (the chain's own provider knows just the keys it was
/// started with). The deployer keeps sending through the chain's provider, whose nonce cache
/// must see all its transactions.
fn signing_provider<'a>(chain: &LocalChain, keys: impl IntoIterator<Item = &'a EvmKey>) -> DynProvider {
    let mut keys = keys.into_iter();
    let Some(first) = keys.next() else { return chain.provider.clone() };
    let mut wallet = EthereumWallet::from(first.signer.clone());
    for key in keys {
        wallet.register_signer(key.signer.clone());
    }
    ProviderBuilder::new().wallet(wallet).connect_provider(chain.provider.clone()).erased()
}

/// Opens one borrower per profile: mint and supply the collateral, borrow, opt in if so.
pub async fn open_borrowers(
    chain: &LocalChain,
    deployment: &MorphoDeployment,
    parameters: &MorphoParameters,
    borrowers: &[(EvmKey, BorrowerProfile)],
) -> Result<Vec<MorphoBorrower>, DevnetError> {
    let provider = signing_provider(chain, borrowers.iter().map(|(key, _)| key));
    let morpho = Morpho::new(deployment.morpho, &provider);
    let collateral = TestToken::new(deployment.collateral_token, &provider);
    let minter = TestToken::new(deployment.collateral_token, &chain.provider);
    let mut opened = Vec::with_capacity(borrowers.len());
    for (key, profile) in borrowers {
        let account = key.address();
        chain.fund_gas(account).await?;
        chain.confirm("mint Morpho collateral", minter.mint(account, profile.collateral).send().await).await?;
        chain
            .confirm(
                "approve Morpho collateral",
                collateral.approve(deployment.morpho, profile.collateral).from(account).send().await,
            )
            .await?;
        chain
            .confirm(
                "morpho.supplyCollateral",
                morpho
                    .supplyCollateral(deployment.market_params(), profile.collateral, account, Default::default())
                    .from(account)
                    .gas(MORPHO_CALL_GAS)
                    .send()
                    .await,
            )
            .await?;
        let value = profile.collateral * U256::from(parameters.initial_price);
        let borrowed = value * U256::from(profile.ltv_bps) / U256::from(10_000u32);
        if !borrowed.is_zero() {
            chain
                .confirm(
                    "morpho.borrow",
                    morpho
                        .borrow(deployment.market_params(), borrowed, U256::ZERO, account, account)
                        .from(account)
                        .gas(MORPHO_CALL_GAS)
                        .send()
                        .await,
                )
                .await?;
        }
        if profile.opted_in {
            chain
                .confirm(
                    "morpho.setAuthorization(adapter)",
                    morpho.setAuthorization(deployment.adapter, true).from(account).send().await,
                )
                .await?;
        }
        opened.push(MorphoBorrower { key: key.clone(), profile: profile.clone(), borrowed });
    }
    Ok(opened)
}

/// Sets the market oracle's price (1e36 scale: loan units per collateral unit).
pub async fn set_oracle_price(
    chain: &LocalChain,
    deployment: &MorphoDeployment,
    price: U256,
) -> Result<(), DevnetError> {
    let oracle = MorphoOracleMock::new(deployment.oracle, &chain.provider);
    chain.confirm("morpho oracle.setPrice", oracle.setPrice(price).send().await).await?;
    Ok(())
}

/// The first-come keeper of Morpho's own open path: liquidates every position beyond LLTV
/// (all its collateral, Morpho's liquidation incentive, bad debt realised by Morpho).
pub struct MorphoKeeper {
    pub key: EvmKey,
    provider: DynProvider,
}

/// One Morpho liquidation the keeper made.
#[derive(Debug, Clone, Serialize)]
pub struct KeeperLiquidation {
    pub borrower: Address,
    pub seized_assets: U256,
    pub repaid_assets: U256,
    pub bad_debt_assets: U256,
}

impl MorphoKeeper {
    /// Funds a keeper with gas and `float` loan tokens, approved to Morpho.
    pub async fn new(chain: &LocalChain, deployment: &MorphoDeployment, float: U256) -> Result<Self, DevnetError> {
        let key = EvmKey::random();
        let provider = signing_provider(chain, [&key]);
        chain.fund_gas(key.address()).await?;
        let loan = TestToken::new(deployment.loan_token, &provider);
        let minter = TestToken::new(deployment.loan_token, &chain.provider);
        chain.confirm("mint keeper float", minter.mint(key.address(), float).send().await).await?;
        chain
            .confirm(
                "approve keeper float",
                loan.approve(deployment.morpho, U256::MAX).from(key.address()).send().await,
            )
            .await?;
        Ok(Self { key, provider })
    }

    /// Liquidates, through `Morpho.liquidate`, every one of `borrowers` whose position is
    /// beyond LLTV now: seizes all its collateral (or as much as the debt covers).
    pub async fn sweep(
        &self,
        chain: &LocalChain,
        deployment: &MorphoDeployment,
        borrowers: &[Address],
    ) -> Result<Vec<KeeperLiquidation>, DevnetError> {
        let adapter = MorphoPreLiquidation::new(deployment.adapter, &self.provider);
        let morpho = Morpho::new(deployment.morpho, &self.provider);
        let mut done = Vec::new();
        for borrower in borrowers {
            let status =
                adapter.status(*borrower).call().await.map_err(|error| chain.error("adapter.status", error))?;
            // Band 3: beyond LLTV (MorphoPreLiquidation.Band.MorphoLiquidation).
            if status.band != 3 {
                continue;
            }
            let position = morpho
                .position(deployment.morpho_market_id, *borrower)
                .call()
                .await
                .map_err(|error| chain.error("morpho.position", error))?;
            let seized = U256::from(position.collateral);
            if seized.is_zero() {
                continue;
            }
            // Seizing everything may ask for more repay than the debt; then repay by shares.
            let sent = morpho
                .liquidate(deployment.market_params(), *borrower, seized, U256::ZERO, Default::default())
                .from(self.key.address())
                .gas(MORPHO_CALL_GAS)
                .send()
                .await;
            let receipt = match chain.confirm("morpho.liquidate (seize all)", sent).await {
                Ok(receipt) => receipt,
                Err(_) => {
                    let shares = U256::from(position.borrowShares);
                    let sent = morpho
                        .liquidate(deployment.market_params(), *borrower, U256::ZERO, shares, Default::default())
                        .from(self.key.address())
                        .gas(MORPHO_CALL_GAS)
                        .send()
                        .await;
                    match chain.confirm("morpho.liquidate (repay all)", sent).await {
                        Ok(receipt) => receipt,
                        // Someone else got there first, or the price moved back: not ours.
                        Err(_) => continue,
                    }
                }
            };
            for log in receipt.inner.logs() {
                if let Ok(event) = log.log_decode::<backstop_bindings::MorphoEvents::Liquidate>() {
                    let event = event.inner.data;
                    done.push(KeeperLiquidation {
                        borrower: event.borrower,
                        seized_assets: event.seizedAssets,
                        repaid_assets: event.repaidAssets,
                        bad_debt_assets: event.badDebtAssets,
                    });
                }
            }
        }
        Ok(done)
    }
}

/// The devnet's Morpho market on its first chain: the deployment, its borrowers and the
/// keeper of Morpho's open path.
pub struct MorphoMarket {
    pub parameters: MorphoParameters,
    pub deployment: MorphoDeployment,
    pub borrowers: Vec<MorphoBorrower>,
    pub keeper: MorphoKeeper,
}

impl MorphoMarket {
    /// Deploys the market next to the reference engine of `engine` (its USD as the loan
    /// token, its WETH as collateral, its settlement) and opens [`default_borrowers`].
    pub async fn start(
        chain: &LocalChain,
        engine: &crate::market::Deployment,
        parameters: MorphoParameters,
    ) -> Result<Self, DevnetError> {
        let collateral = engine
            .collateral("WETH")
            .map(|collateral| collateral.token)
            .ok_or_else(|| DevnetError::Setup("the Morpho market needs the engine's WETH collateral".into()))?;
        let tokens = MarketTokens { loan: engine.usd, collateral };
        let deployment = deploy(chain, engine.settlement, &parameters, Some(tokens)).await?;
        let profiles: Vec<(EvmKey, BorrowerProfile)> =
            default_borrowers().into_iter().map(|profile| (EvmKey::random(), profile)).collect();
        let borrowers = open_borrowers(chain, &deployment, &parameters, &profiles).await?;
        let keeper = MorphoKeeper::new(chain, &deployment, U256::from(parameters.liquidity / 10)).await?;
        Ok(Self { parameters, deployment, borrowers, keeper })
    }

    /// One line for the devnet's start-up log.
    pub fn describe(&self, chain_id: u64) -> String {
        let deployment = &self.deployment;
        format!(
            "[devnet] chain {chain_id}: Morpho Blue {} market {} ; adapter {} (market id {}) ; {} borrowers, {} opted in",
            deployment.morpho,
            deployment.morpho_market_id,
            deployment.adapter,
            deployment.market_id,
            self.borrowers.len(),
            self.borrowers.iter().filter(|borrower| borrower.profile.opted_in).count()
        )
    }

    /// Moves the oracle to the initial price less `drop_bps`, then lets the keeper
    /// liquidate whatever that put beyond LLTV.
    pub async fn crash_step(&self, chain: &LocalChain, drop_bps: u32) -> Result<Vec<KeeperLiquidation>, DevnetError> {
        let price = MorphoParameters::oracle_price(self.parameters.initial_price)
            * U256::from(10_000 - drop_bps.min(10_000))
            / U256::from(10_000u32);
        set_oracle_price(chain, &self.deployment, price).await?;
        self.sweep(chain).await
    }

    /// One keeper pass over every borrower.
    pub async fn sweep(&self, chain: &LocalChain) -> Result<Vec<KeeperLiquidation>, DevnetError> {
        let borrowers: Vec<Address> = self.borrowers.iter().map(MorphoBorrower::address).collect();
        self.keeper.sweep(chain, &self.deployment, &borrowers).await
    }

    /// What happened on the market since its deployment, read from the chain's logs.
    pub async fn report(&self, chain: &LocalChain) -> Result<MorphoReport, DevnetError> {
        let provider = &chain.provider;
        let head = provider.get_block_number().await.map_err(|error| chain.error("read block number", error))?;
        let deployment = &self.deployment;
        let settled = alloy::rpc::types::Filter::new()
            .address(self.settlement(chain).await?)
            .event_signature(<LiquidationSettlement::Settled as alloy::sol_types::SolEvent>::SIGNATURE_HASH)
            .from_block(deployment.deploy_block)
            .to_block(head);
        let mut report = MorphoReport { snapshot_block: head, ..MorphoReport::default() };
        for log in provider.get_logs(&settled).await.map_err(|error| chain.error("get Settled logs", error))? {
            let Ok(event) = log.log_decode::<LiquidationSettlement::Settled>() else { continue };
            let event = event.inner.data;
            if event.marketId != deployment.market_id {
                continue;
            }
            report.pre_liquidations += 1;
            report.premium_total += event.premium;
            if !report.pre_liquidated.contains(&event.account) {
                report.pre_liquidated.push(event.account);
            }
        }
        let liquidated = alloy::rpc::types::Filter::new()
            .address(deployment.morpho)
            .event_signature(<backstop_bindings::MorphoEvents::Liquidate as alloy::sol_types::SolEvent>::SIGNATURE_HASH)
            .topic1(deployment.morpho_market_id)
            .from_block(deployment.deploy_block)
            .to_block(head);
        for log in provider.get_logs(&liquidated).await.map_err(|error| chain.error("get Liquidate logs", error))? {
            let Ok(event) = log.log_decode::<backstop_bindings::MorphoEvents::Liquidate>() else { continue };
            let event = event.inner.data;
            report.morpho_liquidations += 1;
            report.bad_debt += event.badDebtAssets;
            if !report.morpho_liquidated.contains(&event.borrower) {
                report.morpho_liquidated.push(event.borrower);
            }
        }
        let loan = TestToken::new(deployment.loan_token, provider);
        report.beneficiary_balance = loan
            .balanceOf(deployment.beneficiary)
            .call()
            .await
            .map_err(|error| chain.error("beneficiary balance", error))?;
        let adapter = MorphoPreLiquidation::new(deployment.adapter, provider);
        for borrower in &self.borrowers {
            let status = adapter
                .status(borrower.address())
                .call()
                .await
                .map_err(|error| chain.error("adapter.status", error))?;
            if status.band == 2 {
                report.still_in_band.push(borrower.address());
            }
        }
        report.borrowers = self.borrowers.len();
        report.opted_in = self.borrowers.iter().filter(|borrower| borrower.profile.opted_in).count();
        Ok(report)
    }

    async fn settlement(&self, chain: &LocalChain) -> Result<Address, DevnetError> {
        MorphoPreLiquidation::new(self.deployment.adapter, &chain.provider)
            .settlement()
            .call()
            .await
            .map_err(|error| chain.error("adapter.settlement", error))
    }
}

/// The Morpho market's part of a scenario report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MorphoReport {
    pub snapshot_block: u64,
    pub borrowers: usize,
    pub opted_in: usize,
    /// Pre-liquidations won through Backstop auctions (`Settled` for the adapter's market).
    pub pre_liquidations: usize,
    pub pre_liquidated: Vec<Address>,
    /// Premiums those settlements paid the market's beneficiary (loan-token wei).
    #[serde(serialize_with = "crate::report::decimal")]
    pub premium_total: U256,
    /// The beneficiary's loan-token balance at the snapshot.
    #[serde(serialize_with = "crate::report::decimal")]
    pub beneficiary_balance: U256,
    /// Liquidations through Morpho's own open path (`Morpho.Liquidate`), beyond LLTV.
    pub morpho_liquidations: usize,
    pub morpho_liquidated: Vec<Address>,
    /// Bad debt Morpho realised in those liquidations (loan-token wei).
    #[serde(serialize_with = "crate::report::decimal")]
    pub bad_debt: U256,
    /// Opted-in or not, borrowers still inside the pre-liquidation band at the snapshot.
    pub still_in_band: Vec<Address>,
}

impl MorphoReport {
    /// A few lines for the human report.
    pub fn render(&self) -> String {
        format!(
            "  Morpho Blue market ({} borrowers, {} opted in):\n    pre-liquidations won through Backstop: {} ({} \
             borrowers), premiums {} to the beneficiary (balance {})\n    liquidated by Morpho's open path beyond \
             LLTV: {} ({} borrowers), bad debt {}\n    still in the pre-liquidation band: {}\n",
            self.borrowers,
            self.opted_in,
            self.pre_liquidations,
            self.pre_liquidated.len(),
            crate::report::units(self.premium_total),
            crate::report::units(self.beneficiary_balance),
            self.morpho_liquidations,
            self.morpho_liquidated.len(),
            crate::report::units(self.bad_debt),
            self.still_in_band.len(),
        )
    }
}
