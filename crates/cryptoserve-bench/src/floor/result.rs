//! What the floor comparison measured, and the arithmetic on it: each round pairs one floor
//! run with the adjacent run of ours, and the ratio ours ÷ floor is summarised over the rounds
//! as min / median / max.

use serde::Serialize;

use crate::runner::ScenarioResult;
use crate::setup::SetupKind;

/// The smallest, middle and largest of a few values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Middle value (the mean of the two middle ones for an even count).
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`, ignoring any that are not finite; `None` when none is left.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len() % 2 == 0 {
            (sorted.get(middle.checked_sub(1)?)? + sorted.get(middle)?) / 2.0
        } else {
            *sorted.get(middle)?
        };
        Some(Spread {
            min: *sorted.first()?,
            median,
            max: *sorted.last()?,
        })
    }
}

/// `ours ÷ floor` in req/s; NaN when the floor run completed nothing (left out of spreads).
pub fn ratio(ours_rps: f64, floor_rps: f64) -> f64 {
    if floor_rps > 0.0 {
        ours_rps / floor_rps
    } else {
        f64::NAN
    }
}

/// One round of one pair: the floor's run and ours, one right after the other.
#[derive(Debug, Clone, Serialize)]
pub struct RoundPair {
    /// 1-based round.
    pub round: u32,
    /// Whether the floor ran first in this round (the order flips every round).
    pub floor_first: bool,
    /// The floor's run.
    pub floor: ScenarioResult,
    /// Ours.
    pub ours: ScenarioResult,
    /// `ours ÷ floor` in req/s.
    pub ratio: f64,
}

/// One of our scenarios in one setup against one floor route, at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Which of our setups.
    pub setup: SetupKind,
    /// Our scenario (`health_live`, `encrypt_256`, …).
    pub ours: &'static str,
    /// The floor's (`floor_live`, `floor_encrypt_256`, `floor_encrypt_16k`).
    pub floor: &'static str,
    /// Open connections.
    pub concurrency: u32,
    /// Every round.
    pub rounds: Vec<RoundPair>,
    /// `ours ÷ floor` over the rounds.
    pub ratio: Option<Spread>,
}

impl Comparison {
    /// Recomputes [`Comparison::ratio`] from the rounds.
    pub fn summarise(&mut self) {
        let ratios: Vec<f64> = self.rounds.iter().map(|pair| pair.ratio).collect();
        self.ratio = Spread::of(&ratios);
    }

    /// Spread of our req/s and the floor's over the rounds.
    pub fn rates(&self) -> (Option<Spread>, Option<Spread>) {
        let rate = |pick: fn(&RoundPair) -> f64| {
            Spread::of(&self.rounds.iter().map(pick).collect::<Vec<_>>())
        };
        (
            rate(|pair| pair.ours.wrk.requests_per_sec),
            rate(|pair| pair.floor.wrk.requests_per_sec),
        )
    }
}

/// The whole floor comparison of one run.
#[derive(Debug, Clone, Serialize)]
pub struct FloorResult {
    /// Rounds run.
    pub rounds: u32,
    /// Per setup, pair and concurrency, in run order.
    pub comparisons: Vec<Comparison>,
}

impl FloorResult {
    /// The comparisons of `ours` in `setup` against `floor`, one per concurrency.
    pub fn find<'a>(
        &'a self,
        setup: SetupKind,
        ours: &'a str,
        floor: &'a str,
    ) -> impl Iterator<Item = &'a Comparison> + 'a {
        self.comparisons
            .iter()
            .filter(move |c| c.setup == setup && c.ours == ours && c.floor == floor)
    }

    /// Our runs in it (for the RSS target).
    pub fn our_runs(&self) -> impl Iterator<Item = &ScenarioResult> {
        self.comparisons
            .iter()
            .flat_map(|c| c.rounds.iter().map(|pair| &pair.ours))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_odd_even_and_empty() {
        let spread = Spread::of(&[0.9, 0.7, 0.8]).unwrap();
        assert_eq!(
            spread,
            Spread {
                min: 0.7,
                median: 0.8,
                max: 0.9
            }
        );
        let spread = Spread::of(&[1.0, 4.0, 2.0, 3.0]).unwrap();
        assert!((spread.median - 2.5).abs() < 1e-12);
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[f64::NAN]), None);
        let one = Spread::of(&[0.5, f64::NAN]).unwrap();
        assert_eq!((one.min, one.median, one.max), (0.5, 0.5, 0.5));
    }

    #[test]
    fn ratios_divide_ours_by_the_floor() {
        assert!((ratio(8_500.0, 10_000.0) - 0.85).abs() < 1e-12);
        assert!(ratio(1.0, 0.0).is_nan());
    }
}
