//! Constant-rate pacing: when each request of the schedule is due, and which minute of the
//! soak it belongs to.
//!
//! The schedule is a numbered stream of tickets; ticket `i` is due `i / rate` seconds after
//! the start, whatever happened to the tickets before it. A worker takes the next ticket
//! only when it is free, so when the server stalls the tickets wait, and their latency is
//! counted from the due time (not from when they were finally sent): the stall shows in the
//! figures instead of being hidden by the generator slowing down (coordinated omission).

use std::time::Duration;

/// Length of one reporting bucket.
pub const MINUTE: Duration = Duration::from_secs(60);

/// A constant request rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Requests per second, finite and above zero.
    per_second: f64,
}

impl Pace {
    /// `per_second` requests a second; `None` unless it is finite and above zero.
    pub fn per_second(per_second: f64) -> Option<Pace> {
        (per_second.is_finite() && per_second > 0.0).then_some(Pace { per_second })
    }

    /// The rate.
    pub fn rate(self) -> f64 {
        self.per_second
    }

    /// When ticket `ticket` is due, counted from the start of the schedule. Computed from
    /// the ticket number rather than by adding intervals, so no rounding error accumulates.
    pub fn due(self, ticket: u64) -> Duration {
        Duration::from_secs_f64(ticket as f64 / self.per_second)
    }

    /// How many tickets fall due strictly before `span` has passed.
    pub fn tickets_within(self, span: Duration) -> u64 {
        (span.as_secs_f64() * self.per_second).ceil() as u64
    }
}

/// The (0-based) minute of the run that `offset` falls in.
pub fn minute_of(offset: Duration) -> usize {
    (offset.as_secs() / MINUTE.as_secs()) as usize
}

/// The number of whole-or-partial minutes a run of `span` covers.
pub fn minutes_in(span: Duration) -> usize {
    let whole = minute_of(span);
    if span > MINUTE * whole as u32 {
        whole + 1
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_due_at_even_intervals_without_drift() {
        let pace = Pace::per_second(4000.0).unwrap();
        assert_eq!(pace.due(0), Duration::ZERO);
        assert_eq!(pace.due(1), Duration::from_micros(250));
        assert_eq!(pace.due(4000), Duration::from_secs(1));
        // Ten minutes in, still exactly on the grid.
        assert_eq!(pace.due(2_400_000), Duration::from_secs(600));
    }

    #[test]
    fn tickets_within_a_span_are_the_ones_due_before_its_end() {
        let pace = Pace::per_second(3.0).unwrap();
        // Due at 0, 1/3, 2/3 s: three before one second has passed.
        assert_eq!(pace.tickets_within(Duration::from_secs(1)), 3);
        assert_eq!(pace.tickets_within(Duration::from_millis(400)), 2);
        assert_eq!(pace.tickets_within(Duration::ZERO), 0);
        let pace = Pace::per_second(2.0).unwrap();
        assert_eq!(pace.tickets_within(Duration::from_secs(600)), 1200);
        assert!(pace.due(1199) < Duration::from_secs(600));
        assert!(pace.due(1200) >= Duration::from_secs(600));
    }

    #[test]
    fn nonsense_rates_are_refused() {
        assert!(Pace::per_second(0.0).is_none());
        assert!(Pace::per_second(-5.0).is_none());
        assert!(Pace::per_second(f64::NAN).is_none());
        assert!(Pace::per_second(f64::INFINITY).is_none());
    }

    #[test]
    fn offsets_fall_into_minutes() {
        assert_eq!(minute_of(Duration::ZERO), 0);
        assert_eq!(minute_of(Duration::from_millis(59_999)), 0);
        assert_eq!(minute_of(Duration::from_secs(60)), 1);
        assert_eq!(minute_of(Duration::from_secs(599)), 9);
        assert_eq!(minutes_in(Duration::from_secs(600)), 10);
        assert_eq!(minutes_in(Duration::from_secs(601)), 11);
        assert_eq!(minutes_in(Duration::from_secs(30)), 1);
        assert_eq!(minutes_in(Duration::ZERO), 0);
    }
}
