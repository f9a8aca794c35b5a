//! A real protocol end to end: Morpho Blue on the devnet's first chain, Backstop's
//! `MorphoPreLiquidation` adapter registered on its settlement, three nodes watching it and
//! two margin bots. The oracle drops 8%: opted-in borrowers cross preLltv, nodes open
//! intents, the bots bid, the committee awards the better bid, the winner settles through
//! the adapter (which repays on Morpho and withdraws collateral to the winner), and the
//! premium reaches the market's own beneficiary. A borrower in the band who did not opt in
//! is never touched. A further 25% drop then puts borrowers beyond LLTV, where Morpho's own
//! `liquidate` (the devnet's keeper) is the fallback.

use std::collections::BTreeSet;
use std::time::Duration;

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use backstop_bindings::{LiquidationSettlement, Morpho, MorphoPreLiquidation, TestToken};
use backstop_devnet::morpho::{self, MorphoParameters};
use backstop_devnet::{wait_for, Devnet};

use crate::outcome::keep_logs_on_error;

const LOW_MARGIN_BPS: u32 = 1_000;
const HIGH_MARGIN_BPS: u32 = 200;
const DROP_BPS: u128 = 800;
const SETTLE_TIMEOUT: Duration = Duration::from_secs(90);
/// `MorphoPreLiquidation.Band.PreLiquidation`.
const BAND_PRE_LIQUIDATION: u8 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_in_morpho_borrower_past_pre_lltv_is_auctioned_and_the_premium_reaches_the_beneficiary(
) -> eyre::Result<()> {
    let devnet = Devnet::builder()
        .chains(1)
        .nodes(3)
        .threshold(2)
        .margin_solvers(&[LOW_MARGIN_BPS, HIGH_MARGIN_BPS])
        .morpho(true)
        .start()
        .await?;
    let result = scenario(&devnet).await;
    let () = keep_logs_on_error(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn scenario(devnet: &Devnet) -> eyre::Result<()> {
    let chain = &devnet.chains()[0];
    let market = chain.morpho.as_ref().expect("the devnet deployed a Morpho market on its first chain");
    let provider = &chain.chain.provider;
    let deployment = &market.deployment;
    let adapter = MorphoPreLiquidation::new(deployment.adapter, provider);
    let morpho_contract = Morpho::new(deployment.morpho, provider);
    let settlement = LiquidationSettlement::new(chain.deployment.settlement, provider);
    let loan = TestToken::new(deployment.loan_token, provider);
    let registration = settlement.markets(deployment.market_id).call().await?;
    assert_eq!(registration.adapter, deployment.adapter, "the adapter is registered on the settlement");
    assert_eq!(registration.beneficiary, deployment.beneficiary);
    let beneficiary_before = loan.balanceOf(deployment.beneficiary).call().await?;
    for borrower in &market.borrowers {
        assert!(!adapter.isLiquidatable(borrower.address()).call().await?, "nobody is in the band before the drop");
    }

    let price = MorphoParameters::oracle_price(market.parameters.initial_price) * U256::from(10_000 - DROP_BPS)
        / U256::from(10_000u32);
    morpho::set_oracle_price(&chain.chain, deployment, price).await?;
    let dropped_at = provider.get_block_number().await?;
    let at = BlockId::number(dropped_at);
    // Which borrowers the drop put in the band, and which of them opted in: the adapter's word.
    let mut opted_in_band = Vec::new();
    let mut not_opted_in_band = Vec::new();
    for borrower in &market.borrowers {
        let status = adapter.status(borrower.address()).block(at).call().await?;
        if status.band != BAND_PRE_LIQUIDATION {
            continue;
        }
        if status.authorized {
            assert!(adapter.isLiquidatable(borrower.address()).block(at).call().await?);
            opted_in_band.push(borrower.address());
        } else {
            not_opted_in_band.push(borrower.address());
        }
    }
    assert!(opted_in_band.len() >= 2, "the drop must put opted-in borrowers in the band: {opted_in_band:?}");
    assert!(!not_opted_in_band.is_empty(), "and a borrower who did not opt in");
    let shares_before: Vec<u128> = {
        let mut shares = Vec::new();
        for account in &opted_in_band {
            shares.push(
                morpho_contract.position(deployment.morpho_market_id, *account).block(at).call().await?.borrowShares,
            );
        }
        shares
    };

    wait_for(
        &format!("every opted-in borrower in the band to be pre-liquidated (logs under {})", devnet.dir().display()),
        SETTLE_TIMEOUT,
        || async {
            for account in &opted_in_band {
                match settlement.nonces(deployment.market_id, *account).call().await {
                    Ok(nonce) if !nonce.is_zero() => {}
                    _ => return false,
                }
            }
            true
        },
    )
    .await?;

    let head = provider.get_block_number().await?;
    let settled: Vec<LiquidationSettlement::Settled> = settlement
        .Settled_filter()
        .from_block(dropped_at)
        .to_block(head)
        .query()
        .await?
        .into_iter()
        .map(|(event, _)| event)
        .filter(|event| event.marketId == deployment.market_id)
        .collect();
    let settled_accounts: BTreeSet<Address> = settled.iter().map(|event| event.account).collect();
    for account in &opted_in_band {
        assert!(settled_accounts.contains(account), "{account} was not pre-liquidated");
    }
    for account in &not_opted_in_band {
        assert!(!settled_accounts.contains(account), "{account} did not opt in, yet was pre-liquidated");
        assert_eq!(settlement.nonces(deployment.market_id, *account).call().await?, U256::ZERO);
    }
    let (_, _, winner) =
        devnet.solvers().into_iter().find(|(_, bps, _)| *bps == HIGH_MARGIN_BPS).expect("the tighter-margin bot runs");
    let mut premiums = U256::ZERO;
    for event in &settled {
        assert_eq!(event.executor, winner, "the bot keeping the smaller margin bids the higher premium and wins");
        assert!(event.premium >= U256::from(market.parameters.reserve_premium), "premium below the reserve");
        premiums += event.premium;
    }

    // The adapter did the work on Morpho: collateral to the winner, debt repaid for the borrower.
    let pre_liquidated = adapter.PreLiquidated_filter().from_block(dropped_at).to_block(head).query().await?;
    assert_eq!(pre_liquidated.len(), settled.len(), "one PreLiquidated per settlement");
    for (event, _) in &pre_liquidated {
        assert_eq!(event.receiver, winner, "the seized collateral went to the winner's executor");
        assert!(!event.seizedAssets.is_zero() && !event.repaidShares.is_zero());
        assert!(event.seizedValue > event.repaidAssets, "the incentive factor pays the winner");
    }
    for (account, before) in opted_in_band.iter().zip(&shares_before) {
        let after = morpho_contract.position(deployment.morpho_market_id, *account).call().await?.borrowShares;
        assert!(after < *before, "{account}'s debt on Morpho shrank");
    }
    let beneficiary_after = loan.balanceOf(deployment.beneficiary).call().await?;
    assert!(!premiums.is_zero());
    assert_eq!(beneficiary_after - beneficiary_before, premiums, "the beneficiary received exactly the premiums");

    // Then a crash beyond LLTV: Morpho's own liquidation is the fallback, and the devnet's
    // keeper takes it (the adapter never acts there).
    let liquidations = market.crash_step(&chain.chain, 2_500).await?;
    assert!(!liquidations.is_empty(), "a 25% drop puts borrowers beyond LLTV, where the keeper liquidates");
    let report = market.report(&chain.chain).await?;
    println!("{}", report.render());
    assert!(report.pre_liquidations >= settled.len());
    assert!(report.premium_total >= premiums);
    assert_eq!(report.morpho_liquidations, liquidations.len(), "every keeper liquidation is a Morpho Liquidate log");
    assert!(report.morpho_liquidated.iter().all(|account| market.borrowers.iter().any(|b| b.address() == *account)));
    Ok(())
}
