//! The admission bound the rate-limit exactness tests hold a count to (docs/rate-limiting.md):
//! a load started on a full bucket of `rate_per_minute` and `burst` admits `burst + rate ×
//! window`, within ±2 %.
//!
//! The window is only known within limits: the first decision happened between the first
//! send and the first answer, the last one between the last send and the last answer, so it
//! lies between `last send − first answer` and `last answer − first send`.

use std::time::{Duration, Instant};

/// What a load's count of admitted requests must fall in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdmissionBound {
    /// The shortest window the decisions can have spanned.
    pub shortest: Duration,
    /// The longest.
    pub longest: Duration,
    /// Admitted over `shortest`, less 2 %.
    pub low: f64,
    /// Admitted over `longest`, plus 2 %.
    pub high: f64,
    /// Admitted over the middle of the two windows.
    pub nominal: f64,
}

impl AdmissionBound {
    /// The bound for requests sent and answered at `times` (`(sent, received)` pairs); `None`
    /// without any.
    pub fn of(
        times: impl IntoIterator<Item = (Instant, Instant)>,
        rate_per_minute: u32,
        burst: u32,
    ) -> Option<AdmissionBound> {
        let mut times = times.into_iter();
        let (sent, received) = times.next()?;
        let (mut first_send, mut last_send) = (sent, sent);
        let (mut first_received, mut last_received) = (received, received);
        for (sent, received) in times {
            first_send = first_send.min(sent);
            last_send = last_send.max(sent);
            first_received = first_received.min(received);
            last_received = last_received.max(received);
        }
        let shortest = last_send.saturating_duration_since(first_received);
        let longest = last_received.saturating_duration_since(first_send);
        let low = admitted(rate_per_minute, burst, shortest) * 0.98;
        let high = admitted(rate_per_minute, burst, longest) * 1.02;
        let nominal = (admitted(rate_per_minute, burst, shortest)
            + admitted(rate_per_minute, burst, longest))
            / 2.0;
        Some(AdmissionBound {
            shortest,
            longest,
            low,
            high,
            nominal,
        })
    }

    /// Whether `count` admitted requests lie within the bound.
    pub fn contains(&self, count: usize) -> bool {
        (self.low..=self.high).contains(&(count as f64))
    }
}

/// `burst + rate × window`: what a full bucket admits over `window`.
pub fn admitted(rate_per_minute: u32, burst: u32, window: Duration) -> f64 {
    f64::from(burst) + f64::from(rate_per_minute) / 60.0 * window.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_lies_between_the_inner_and_outer_send_and_answer_times() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        // Sends at 0 and 10 000 ms, answers at 5 and 10 010 ms.
        let bound = AdmissionBound::of([(at(0), at(5)), (at(10_000), at(10_010))], 600, 20)
            .expect("two samples");
        assert_eq!(bound.shortest, Duration::from_millis(9_995));
        assert_eq!(bound.longest, Duration::from_millis(10_010));
        assert!((bound.low - (20.0 + 99.95) * 0.98).abs() < 1e-9);
        assert!((bound.high - (20.0 + 100.1) * 1.02).abs() < 1e-9);
        assert!(bound.contains(120) && !bound.contains(200) && !bound.contains(100));
        assert_eq!(AdmissionBound::of([], 600, 20), None);
    }
}
