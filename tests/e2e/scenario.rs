//! A short scenario through the same code path as `backstop-devnet scenario`: a small
//! population on two chains, the Backstop market and its baseline twin with keepers, the
//! wick; then the scorecard's figures are checked against the chains' own events
//! (the engines' `Liquidated`, the settlements' `Settled` and `OpenLiquidated`) and
//! balances, and the report files are written.

use std::collections::HashSet;

use alloy::primitives::U256;
use backstop_bindings::{LiquidationSettlement, MarginEngine, TestToken};
use backstop_devnet::keeper::default_keepers;
use backstop_devnet::prices::ScenarioKind;
use backstop_devnet::run::RunSettings;
use backstop_devnet::scan::MarketKind;
use backstop_devnet::scorecard::LiquidationPath;
use backstop_devnet::Devnet;

use crate::outcome::keep_logs_on_error;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_scenario_reports_what_the_chains_recorded_for_backstop_and_the_baseline() -> eyre::Result<()> {
    let devnet = Devnet::builder()
        .chains(2)
        .nodes(3)
        .threshold(2)
        .population(24)
        .seed(5)
        .baseline(true)
        .keepers(default_keepers())
        .start()
        .await?;
    let result = scenario(&devnet).await;
    let () = keep_logs_on_error(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn scenario(devnet: &Devnet) -> eyre::Result<()> {
    let mut settings = RunSettings::new(ScenarioKind::Wick, 5);
    settings.settle_timeout = std::time::Duration::from_secs(60);
    let trace = devnet.run(&settings).await?;
    let scorecard = devnet.scorecard(&trace, &HashSet::new()).await?;
    println!("{}", scorecard.render());

    assert_eq!(scorecard.markets.len(), 4, "two markets on each of two chains");
    let under: usize = scorecard.markets.iter().map(|card| card.went_under).sum();
    assert!(under > 0, "the wick put accounts under water");
    for kind in [MarketKind::Backstop, MarketKind::Baseline] {
        assert!(scorecard.totals(kind).went_under > 0, "{kind:?}: some accounts went under");
    }

    let mut settlements = 0;
    for (chain, cards) in devnet.chains().iter().zip(scorecard.markets.chunks(2)) {
        let chain_id = chain.chain.chain_id;
        let from = trace.start_blocks[&chain_id] + 1;
        let to = trace.end_blocks[&chain_id];
        for (book, card) in chain.books().iter().zip(cards) {
            assert_eq!((card.chain_id, card.market), (chain_id, book.kind));
            // Every account that went under took exactly one path.
            assert_eq!(
                card.by_auction + card.by_runner_up + card.by_open_path + card.not_liquidated,
                card.went_under,
                "{card:?}"
            );
            // The engine's own events count the same liquidations as the settlement's.
            let engine = MarginEngine::new(book.engine, &chain.chain.provider);
            let liquidated = engine.Liquidated_filter().from_block(from).to_block(to).query().await?;
            assert_eq!(liquidated.len(), card.liquidations, "chain {chain_id} {:?}", book.kind);
            let settlement = LiquidationSettlement::new(book.settlement, &chain.chain.provider);
            let settled = settlement.Settled_filter().from_block(from).to_block(to).query().await?;
            let open = settlement.OpenLiquidated_filter().from_block(from).to_block(to).query().await?;
            assert_eq!(settled.len() + open.len(), card.liquidations);
            settlements += settled.len();
            let premiums = settled.iter().fold(U256::ZERO, |sum, (event, _)| sum + event.premium);
            assert_eq!(premiums, card.premium_total);
            let bonus = settled
                .iter()
                .map(|(event, _)| event.seizedValue.saturating_sub(event.repayAmount))
                .chain(open.iter().map(|(event, _)| event.seizedValue.saturating_sub(event.repayAmount)))
                .fold(U256::ZERO, |sum, value| sum + value);
            assert_eq!(bonus, card.bonus_total);
            // Premiums go to the insurance fund: without a shortfall it grew by exactly them.
            let usd = TestToken::new(chain.deployment.usd, &chain.chain.provider);
            let fund_now = usd.balanceOf(book.insurance_fund).block(to.into()).call().await?;
            assert_eq!(fund_now, card.insurance_fund_after);
            if card.bad_debt_gross.is_zero() {
                assert_eq!(card.insurance_fund_after - card.insurance_fund_before, premiums);
            }
            match book.kind {
                MarketKind::Baseline => {
                    assert!(settled.is_empty(), "nobody holds the baseline's committee key");
                    assert_eq!((card.by_auction, card.premium_total), (0, U256::ZERO));
                    // Every baseline liquidation is a keeper's, and each matches a keeper transaction that succeeded.
                    let keepers: HashSet<_> = devnet.keeper_addresses().into_iter().collect();
                    assert!(open.iter().all(|(event, _)| keepers.contains(&event.liquidator)));
                    let won = scorecard
                        .keeper_transactions
                        .iter()
                        .filter(|tx| tx.chain_id == chain_id && tx.market == MarketKind::Baseline && tx.success)
                        .count();
                    assert_eq!(won, open.len());
                }
                MarketKind::Backstop => assert!(card.premium_total <= card.auction_bonus),
            }
        }
    }
    // Every auction settlement is one solver's, and the solvers' premiums are the markets'.
    assert!(settlements > 0, "the wick was auctioned");
    assert_eq!(scorecard.solvers.iter().map(|solver| solver.settlements).sum::<usize>(), settlements);
    let solver_premiums = scorecard.solvers.iter().fold(U256::ZERO, |sum, solver| sum + solver.premium);
    let market_premiums = scorecard.markets.iter().fold(U256::ZERO, |sum, card| sum + card.premium_total);
    assert_eq!(solver_premiums, market_premiums);
    let solver_gas = scorecard.solvers.iter().fold(U256::ZERO, |sum, solver| sum + solver.gas_usd);
    assert_eq!(solver_gas, scorecard.markets.iter().fold(U256::ZERO, |sum, card| sum + card.solver_gas_usd));
    for path in &scorecard.accounts {
        match path.path {
            LiquidationPath::None => assert!(path.first_liquidation_block.is_none()),
            _ => assert!(path.first_liquidation_block.is_some_and(|block| block >= path.under_block), "{path:?}"),
        }
    }
    assert!(
        scorecard.timelines.iter().all(|timeline| !timeline.points.is_empty()
            && timeline.points.iter().any(|point| point.under.iter().any(|count| *count > 0))),
        "the timeline saw accounts under water"
    );

    // The report files: JSON that parses back, and PNG charts.
    let out = devnet.dir().join("report");
    let charts = backstop_devnet::charts::draw(&scorecard, &out).map_err(|error| eyre::eyre!("{error}"))?;
    assert_eq!(charts.len(), 4);
    for chart in &charts {
        let bytes = std::fs::read(chart)?;
        assert!(bytes.starts_with(b"\x89PNG"), "{} is a PNG", chart.display());
    }
    let json: serde_json::Value = serde_json::from_str(&serde_json::to_string(&scorecard)?)?;
    assert_eq!(json["scenario"], "wick");
    Ok(())
}
