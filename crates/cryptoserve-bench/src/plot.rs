//! The latency-vs-throughput plot of encrypt 256 B (SVG, drawn with `plotters`).

use std::path::Path;

use plotters::prelude::*;

use crate::error::{BenchError, Result};
use crate::runner::SetupResult;
use crate::wrk::Latency;

/// Draws p50 and p99 latency (from the due time) against achieved throughput for every swept
/// setup; saturated points have no latency and are left out.
pub fn latency_vs_throughput(path: &Path, setups: &[SetupResult]) -> Result<()> {
    let swept: Vec<&SetupResult> = setups.iter().filter(|s| !s.sweep.is_empty()).collect();
    let kept = |s: &SetupResult| -> Vec<(f64, Latency)> {
        s.sweep
            .iter()
            .filter_map(|p| Some((p.achieved_rps, p.latency?)))
            .collect()
    };
    let max_rps = swept
        .iter()
        .flat_map(|s| s.sweep.iter().map(|p| p.achieved_rps))
        .fold(1.0, f64::max);
    let all_kept: Vec<(f64, Latency)> = swept.iter().flat_map(|s| kept(s)).collect();
    let latencies = all_kept.iter().flat_map(|(_, l)| [l.p50_ms, l.p99_ms]);
    let max_ms = latencies.clone().fold(1.0, f64::max);
    let min_ms = latencies.fold(max_ms, f64::min).max(0.01);
    let plot_err = |error: &dyn std::fmt::Display| BenchError::Plot(error.to_string());

    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "encrypt 256 B: latency from due time vs achieved throughput (constant rate)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(
            0.0..max_rps * 1.05,
            (min_ms * 0.8..max_ms * 1.25).log_scale(),
        )
        .map_err(|e| plot_err(&e))?;
    chart
        .configure_mesh()
        .x_desc("achieved requests/s")
        .y_desc("latency (ms, log scale)")
        .draw()
        .map_err(|e| plot_err(&e))?;
    let palette = [BLUE, RED, GREEN, MAGENTA];
    for (index, setup) in swept.iter().enumerate() {
        let color = palette.get(index % palette.len()).copied().unwrap_or(BLACK);
        let name = setup.setup.name();
        let points = kept(setup);
        let p50: Vec<(f64, f64)> = points
            .iter()
            .map(|(rps, l)| (*rps, l.p50_ms.max(min_ms)))
            .collect();
        let p99: Vec<(f64, f64)> = points
            .iter()
            .map(|(rps, l)| (*rps, l.p99_ms.max(min_ms)))
            .collect();
        chart
            .draw_series(LineSeries::new(p50.clone(), color.stroke_width(2)))
            .map_err(|e| plot_err(&e))?
            .label(format!("{name} p50"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                p50.iter()
                    .map(|&point| Circle::new(point, 3, color.filled())),
            )
            .map_err(|e| plot_err(&e))?;
        let dashed = color.mix(0.5).stroke_width(2);
        chart
            .draw_series(LineSeries::new(p99.clone(), dashed))
            .map_err(|e| plot_err(&e))?
            .label(format!("{name} p99"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], dashed));
        chart
            .draw_series(
                p99.iter()
                    .map(|&point| TriangleMarker::new(point, 4, color.mix(0.5).filled())),
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
    root.present().map_err(|e| plot_err(&e))?;
    Ok(())
}
