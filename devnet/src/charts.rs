//! The report's charts, drawn with `plotters` into PNG files: the price path, accounts
//! under water, liquidations by path, and the insurance fund and bad debt over time, with
//! Backstop and its baseline on the same axes. The x axis is blocks since the run's first
//! step; chains are summed block by block (their steps land in the same block offsets).

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::scan::MarketKind;
use crate::scorecard::{ChainTimeline, Scorecard};

const SIZE: (u32, u32) = (1_000, 560);
const BACKSTOP: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const BASELINE: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const FALLBACK: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const PALETTE: [RGBColor; 4] =
    [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0x2c, 0xa0, 0x2c), RGBColor(0x94, 0x67, 0xbd), RGBColor(0x8c, 0x56, 0x4b)];

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Draws every chart of `scorecard` into `dir`; returns the files written.
pub fn draw(scorecard: &Scorecard, dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // Registering the embedded font can only fail on a malformed font file.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
    std::fs::create_dir_all(dir)?;
    let Some(first) = scorecard.timelines.first() else { return Ok(Vec::new()) };
    let title = format!("{} (seed {})", scorecard.scenario, scorecard.seed);
    let mut written = Vec::new();

    let path = dir.join("prices.png");
    prices(first, &title, &path)?;
    written.push(path);

    let kinds: Vec<MarketKind> = first.markets.clone();
    let summed = |pick: &dyn Fn(&crate::scorecard::TimelinePoint, usize) -> f64, kind_index: usize| -> Vec<f64> {
        let length = scorecard.timelines.iter().map(|timeline| timeline.points.len()).min().unwrap_or(0);
        (0..length)
            .map(|offset| {
                scorecard.timelines.iter().map(|timeline| pick(&timeline.points[offset], kind_index)).sum::<f64>()
            })
            .collect()
    };
    let colour = |kind: MarketKind| if kind == MarketKind::Backstop { BACKSTOP } else { BASELINE };

    let under: Vec<(String, RGBColor, Vec<f64>)> = kinds
        .iter()
        .enumerate()
        .map(|(index, kind)| {
            (
                kind.name().to_string(),
                colour(*kind),
                summed(&|point, i| point.under.get(i).copied().unwrap_or(0) as f64, index),
            )
        })
        .collect();
    let path = dir.join("under_water.png");
    lines(&format!("{title}: accounts under water"), "accounts", &under, &path)?;
    written.push(path);

    let mut liquidations = Vec::new();
    for (index, kind) in kinds.iter().enumerate() {
        if *kind == MarketKind::Backstop {
            liquidations.push((
                "backstop: auction".to_string(),
                BACKSTOP,
                summed(&|point, i| point.auctions.get(i).copied().unwrap_or(0) as f64, index),
            ));
            liquidations.push((
                "backstop: fallback (open path)".to_string(),
                FALLBACK,
                summed(&|point, i| point.open_liquidations.get(i).copied().unwrap_or(0) as f64, index),
            ));
        } else {
            liquidations.push((
                "baseline: keepers (open path)".to_string(),
                BASELINE,
                summed(&|point, i| point.open_liquidations.get(i).copied().unwrap_or(0) as f64, index),
            ));
        }
    }
    let path = dir.join("liquidations.png");
    lines(&format!("{title}: liquidations by path (cumulative)"), "liquidations", &liquidations, &path)?;
    written.push(path);

    let mut money = Vec::new();
    for (index, kind) in kinds.iter().enumerate() {
        money.push((
            format!("{}: insurance fund", kind.name()),
            colour(*kind),
            summed(&|point, i| point.insurance_fund.get(i).copied().unwrap_or(0.0), index),
        ));
        money.push((
            format!("{}: bad debt", kind.name()),
            if *kind == MarketKind::Backstop { PALETTE[2] } else { PALETTE[3] },
            summed(&|point, i| point.bad_debt.get(i).copied().unwrap_or(0.0), index),
        ));
    }
    let path = dir.join("insurance_and_bad_debt.png");
    lines(&format!("{title}: insurance fund and bad debt (USD, all chains)"), "USD", &money, &path)?;
    written.push(path);
    Ok(written)
}

/// Market (solid) and oracle (thin) price of every collateral, as a share of its start.
fn prices(timeline: &ChainTimeline, title: &str, path: &Path) -> Result<(), Failure> {
    let mut series = Vec::new();
    for (index, symbol) in timeline.collaterals.iter().enumerate() {
        let start = timeline
            .points
            .first()
            .and_then(|point| point.oracle_price.get(index).copied())
            .filter(|price| *price > 0.0)
            .unwrap_or(1.0);
        let colour = PALETTE[index % PALETTE.len()];
        series.push((
            format!("{symbol} market"),
            colour,
            timeline
                .points
                .iter()
                .map(|point| 100.0 * point.market_price.get(index).copied().unwrap_or(0.0) / start)
                .collect(),
        ));
        series.push((
            format!("{symbol} oracle"),
            colour.mix(0.55).to_rgba().rgb_colour(),
            timeline
                .points
                .iter()
                .map(|point| 100.0 * point.oracle_price.get(index).copied().unwrap_or(0.0) / start)
                .collect(),
        ));
    }
    lines(&format!("{title}: price path, % of start (chain {})", timeline.chain_id), "% of start", &series, path)
}

trait RgbColour {
    fn rgb_colour(&self) -> RGBColor;
}

impl RgbColour for RGBAColor {
    fn rgb_colour(&self) -> RGBColor {
        // Blend towards white: plotters' bitmap backend draws opaque lines best.
        let blend = |channel: u8| (f64::from(channel) * self.3 + 255.0 * (1.0 - self.3)) as u8;
        RGBColor(blend(self.0), blend(self.1), blend(self.2))
    }
}

/// A line chart of `series` (label, colour, one value per block offset).
fn lines(title: &str, y_label: &str, series: &[(String, RGBColor, Vec<f64>)], path: &Path) -> Result<(), Failure> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let length = series.iter().map(|(_, _, values)| values.len()).max().unwrap_or(0).max(2);
    let (low, high) = series
        .iter()
        .flat_map(|(_, _, values)| values.iter().copied())
        .filter(|value| value.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(value), high.max(value)));
    let (low, high) = if low.is_finite() && high.is_finite() { (low.min(0.0), high) } else { (0.0, 1.0) };
    let high = if high <= low { low + 1.0 } else { high + (high - low) * 0.05 };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..(length - 1) as f64, low..high)?;
    chart
        .configure_mesh()
        .x_desc("blocks since the first step")
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()?;
    for (label, colour, values) in series {
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(x, y)| (x as f64, *y)),
                colour.stroke_width(2),
            ))?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}
