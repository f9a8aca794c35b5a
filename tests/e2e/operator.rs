//! What an operator and a protocol admin see: the node's `/health`, `/status` and
//! Prometheus `/metrics` on a running devnet through a crash, `backstop status`, and
//! `backstop market register` (including the refusal for a caller who is not the
//! adapter's admin).

use std::process::Command;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::transports::http::reqwest;
use backstop_bindings::{LiquidationSettlement, MarginEngine};
use backstop_devnet::market::{self, MarketParameters};
use backstop_devnet::{wait_for, Devnet, LocalChain};
use backstop_node::status::NodeStatus;

use crate::outcome::{assert_crash_bites, await_all_settled, keep_logs_on_error};

/// Sum of every sample of `name` (all label sets) in a Prometheus text exposition.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.strip_prefix(name).is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' ')))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn get(url: &str) -> eyre::Result<(u16, String)> {
    let response = reqwest::get(url).await?;
    let code = response.status().as_u16();
    Ok((code, response.text().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_health_status_and_metrics_through_a_crash() -> eyre::Result<()> {
    let devnet = Devnet::builder().chains(2).nodes(3).threshold(2).solvers(&[50, 150]).start().await?;
    let result = scenario(&devnet).await;
    let () = keep_logs_on_error(&devnet, result);
    devnet.shutdown();
    Ok(())
}

async fn scenario(devnet: &Devnet) -> eyre::Result<()> {
    let apis: Vec<String> = devnet
        .nodes()
        .iter()
        .map(|node| {
            format!("http://{}", node.ready.as_ref().and_then(|ready| ready.api.clone()).expect("api in ready.json"))
        })
        .collect();
    assert_eq!(apis.len(), 3);
    for api in &apis {
        let url = format!("{api}/health");
        wait_for("node ready on /health", Duration::from_secs(30), || async {
            matches!(get(&url).await, Ok((200, _)))
        })
        .await?;
        let (code, body) = get(&format!("{api}/status")).await?;
        assert_eq!(code, 200);
        let status: NodeStatus = serde_json::from_str(&body)?;
        assert_eq!(status.chains.len(), 2, "{body}");
        for (chain, watched) in devnet.chains().iter().zip(status.chains.values()) {
            assert!(watched.caught_up, "{body}");
            let [market] = watched.markets.as_slice() else { panic!("one market per chain: {body}") };
            assert_eq!(market.market_id, chain.deployment.market_id);
            assert_eq!(market.model, "MarginEngine", "the reference engine is modelled locally");
            assert_eq!(market.accounts, chain.positions.len(), "every opened account is indexed");
        }
    }

    let crash = devnet.crash(2_500).await?;
    assert_crash_bites(&crash);
    await_all_settled(devnet, &crash, Duration::from_secs(90)).await?;
    let under: usize = crash.chains.iter().map(|chain| chain.under.len()).sum();

    let mut opened = 0.0;
    let mut latencies = 0.0;
    let mut votes = 0.0;
    let mut settled = 0.0;
    for api in &apis {
        let (code, text) = get(&format!("{api}/metrics")).await?;
        assert_eq!(code, 200);
        assert!(metric_sum(&text, "backstop_chain_blocks_processed_total") > 0.0, "{text}");
        assert!(metric_sum(&text, "backstop_risk_accounts_indexed") > 0.0, "{text}");
        assert_eq!(metric_sum(&text, "backstop_risk_confirmation_mismatches_total"), 0.0, "{text}");
        opened += metric_sum(&text, "backstop_intents_opened_total");
        latencies += metric_sum(&text, "backstop_block_to_intent_seconds_count");
        votes += metric_sum(&text, "backstop_votes_signed_total");
        settled += metric_sum(&text, "backstop_auctions_settled_total");
        assert!(text.contains("verdict=\"accept\""), "gossip verdicts are counted: {text}");
    }
    assert!(opened >= under as f64, "every under-water account had an intent opened ({opened} < {under})");
    assert_eq!(latencies, opened, "each opened intent records its block-to-intent latency");
    assert!(votes >= 2.0 * under as f64, "a threshold of votes per auction");
    assert!(settled >= under as f64, "every node saw the settlements");

    let output = Command::new(backstop_devnet::binaries::node()?).args(["status", "--api", &apis[0]]).output()?;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed} {}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("ready") && printed.contains("MarginEngine"), "{printed}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_market_admin_registers_from_the_command_line_and_anyone_else_is_refused() -> eyre::Result<()> {
    let dir = tempfile::tempdir()?;
    let chain = LocalChain::spawn(&backstop_devnet::binaries::anvil()?, 31_337, &dir.path().join("anvil.log"), &[])?;
    let parameters = MarketParameters::default();
    let deployment = market::deploy(&chain, &parameters, vec![Address::repeat_byte(0xa7)], 1, &[]).await?;
    // A second market on the same settlement: a fresh engine whose admin is the deployer.
    let risk = MarginEngine::RiskParams {
        maintenanceRatioWad: U256::from(parameters.maintenance_ratio_wad),
        initialMarginRatioWad: U256::from(parameters.initial_margin_ratio_wad),
        closeFactorWad: U256::from(parameters.close_factor_wad),
        fullLiquidationHealthWad: U256::from(parameters.full_liquidation_health_wad),
        dustDebt: U256::from(parameters.dust_debt),
    };
    let engine =
        MarginEngine::deploy(&chain.provider, chain.deployer_address(), deployment.usd, deployment.oracle_router, risk)
            .await?;
    let admin_key = dir.path().join("admin.key");
    std::fs::write(&admin_key, hex::encode(chain.deployer.to_bytes()))?;
    let stranger_key = dir.path().join("stranger.key");
    std::fs::write(&stranger_key, hex::encode([0x42u8; 32]))?;

    let register = |key: &std::path::Path| {
        Command::new(backstop_devnet::binaries::node().expect("node binary"))
            .args(["market", "register", "--rpc-url", &chain.rpc_url])
            .args(["--settlement", &deployment.settlement.to_string(), "--adapter", &engine.address().to_string()])
            .args(["--beneficiary", &deployment.insurance_fund.to_string(), "--reserve-premium", "1000"])
            .arg("--admin-key")
            .arg(key)
            .output()
            .expect("runs")
    };
    let refused = register(&stranger_key);
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(error.contains("is not the adapter's admin"), "{error}");

    let registered = register(&admin_key);
    let printed = String::from_utf8_lossy(&registered.stdout);
    assert!(registered.status.success(), "{printed} {}", String::from_utf8_lossy(&registered.stderr));
    let market_id = backstop_protocol::id::market_id(*engine.address());
    assert!(printed.contains(&market_id.to_string()), "prints the market id: {printed}");
    let settlement = LiquidationSettlement::new(deployment.settlement, &chain.provider);
    let stored = settlement.markets(market_id).call().await?;
    assert_eq!(stored.adapter, *engine.address());
    assert_eq!(stored.reservePremium, U256::from(1_000u32));

    let again = register(&admin_key);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already registered"));
    Ok(())
}
