//! The soak's SVG: crypto latency per minute above (p50 and p99 from the due time, p99 from
//! the send; log scale), RSS of each CryptoServe instance over time below.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{BenchError, Result};

use super::report::{mib, SoakReport};
use super::stats::MinuteSummary;

/// Draws both panels into `path`.
pub fn draw(path: &Path, report: &SoakReport) -> Result<()> {
    let plot_err = |error: &dyn std::fmt::Display| BenchError::Plot(error.to_string());
    let root = SVGBackend::new(path, (900, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(&e))?;
    let (top, bottom) = root.split_vertically(380);
    let minutes = report.minutes.max(1) as f64;

    let line = |latency: fn(&MinuteSummary) -> f64| -> Vec<(f64, f64)> {
        report
            .per_minute
            .iter()
            .map(|m| (m.minute as f64, latency(m)))
            .collect()
    };
    let lines = [
        (
            line(|m| m.crypto.p50_ms),
            BLUE.stroke_width(2),
            "p50 from due time",
        ),
        (
            line(|m| m.crypto.p99_ms),
            RED.stroke_width(2),
            "p99 from due time",
        ),
        (
            line(|m| m.crypto_service.p99_ms),
            RED.mix(0.4).stroke_width(2),
            "p99 from send (service time)",
        ),
    ];
    let all_ms = lines
        .iter()
        .flat_map(|(points, _, _)| points.iter().map(|p| p.1));
    let max_ms = all_ms.clone().fold(1.0, f64::max);
    let min_ms = all_ms.fold(max_ms, f64::min).max(0.01);
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!(
                "soak: crypto latency per minute at {:.0} req/s",
                report.target_rps
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(
            0.5..minutes + 0.5,
            (min_ms * 0.8..max_ms * 1.25).log_scale(),
        )
        .map_err(|e| plot_err(&e))?;
    chart
        .configure_mesh()
        .x_desc("minute")
        .y_desc("latency (ms, log scale)")
        .draw()
        .map_err(|e| plot_err(&e))?;
    for (points, style, label) in lines {
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(x, ms)| (x, ms.max(min_ms))),
                style,
            ))
            .map_err(|e| plot_err(&e))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(x, ms)| Circle::new((x, ms.max(min_ms)), 3, style.color.filled())),
            )
            .map_err(|e| plot_err(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| plot_err(&e))?;

    let instances: Vec<_> = report.memory.iter().filter(|s| s.instance).collect();
    let rss = instances
        .iter()
        .flat_map(|s| s.samples.iter().map(|p| mib(p.rss_kib)));
    let max_mib = rss.clone().fold(1.0, f64::max);
    let min_mib = rss.fold(max_mib, f64::min);
    let mut chart = ChartBuilder::on(&bottom)
        .caption("RSS per CryptoServe instance", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..minutes, (min_mib * 0.9)..(max_mib * 1.1))
        .map_err(|e| plot_err(&e))?;
    chart
        .configure_mesh()
        .x_desc("minutes since the soak started")
        .y_desc("VmRSS (MiB)")
        .draw()
        .map_err(|e| plot_err(&e))?;
    let palette = [BLUE, RED, GREEN, MAGENTA, CYAN];
    for (index, series) in instances.iter().enumerate() {
        let color = palette.get(index % palette.len()).copied().unwrap_or(BLACK);
        let points: Vec<(f64, f64)> = series
            .samples
            .iter()
            .map(|s| (s.at_secs / 60.0, mib(s.rss_kib)))
            .collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| plot_err(&e))?
            .label(series.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| plot_err(&e))?;
    root.present().map_err(|e| plot_err(&e))?;
    Ok(())
}
