//! What the soak counts: every request's outcome and latency, bucketed by the minute it was
//! due in, and the per-minute summaries (percentiles, error counts) the report prints.
//!
//! Each worker fills its own [`Recorder`] (no shared lock on the hot path); they are merged
//! once the run is over. Latencies are kept whole (microseconds, `u32`) and sorted per minute,
//! so the percentiles are exact, not histogram estimates: a 10-minute run at 5,000 req/s keeps
//! 3 million of them, 12 MB per latency kind.

use serde::Serialize;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer (for a batch: with no item carrying an error).
    Ok,
    /// A 2xx batch answer in which at least one item carries an error.
    BatchItemError,
    /// A 5xx answer: the soak's target is none of these.
    ServerError,
    /// 429: should not happen with the limits raised.
    TooManyRequests,
    /// Any other non-2xx answer (3xx, 4xx).
    OtherStatus,
    /// No answer: connect, TLS, read or write failure, or the client's timeout.
    Transport,
}

impl Outcome {
    /// The outcome of an answer with `status`; `batch_item_error` when a 2xx batch answer
    /// carries an item error.
    pub fn of_status(status: u16, batch_item_error: bool) -> Outcome {
        match status {
            200..=299 if batch_item_error => Outcome::BatchItemError,
            200..=299 => Outcome::Ok,
            429 => Outcome::TooManyRequests,
            500..=599 => Outcome::ServerError,
            _ => Outcome::OtherStatus,
        }
    }
}

/// Counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    /// 2xx.
    pub ok: u64,
    /// 2xx batch answers with an item error.
    pub batch_item_errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// 429.
    pub too_many_requests: u64,
    /// Other non-2xx.
    pub other_status: u64,
    /// No answer.
    pub transport: u64,
}

impl Outcomes {
    /// Counts one `outcome`.
    pub fn add(&mut self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Ok => &mut self.ok,
            Outcome::BatchItemError => &mut self.batch_item_errors,
            Outcome::ServerError => &mut self.server_errors,
            Outcome::TooManyRequests => &mut self.too_many_requests,
            Outcome::OtherStatus => &mut self.other_status,
            Outcome::Transport => &mut self.transport,
        };
        *counter += 1;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Outcomes) {
        self.ok += other.ok;
        self.batch_item_errors += other.batch_item_errors;
        self.server_errors += other.server_errors;
        self.too_many_requests += other.too_many_requests;
        self.other_status += other.other_status;
        self.transport += other.transport;
    }

    /// Every request counted.
    pub fn total(&self) -> u64 {
        self.ok
            + self.batch_item_errors
            + self.server_errors
            + self.too_many_requests
            + self.other_status
            + self.transport
    }
}

/// Whether a request was crypto traffic (encrypt, decrypt, batches) or admin traffic; they are
/// summarised apart, admin calls being rarer and slower (they write to PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Encrypt, decrypt, batch encrypt, batch decrypt.
    Crypto,
    /// The admin trickle.
    Admin,
}

/// Latencies and outcomes of one minute.
#[derive(Debug, Clone, Default)]
struct Bucket {
    /// Crypto requests: due time → answer read, µs (what a client of a paced service sees).
    crypto_from_due_us: Vec<u32>,
    /// Crypto requests: sent → answer read, µs (the service time alone).
    crypto_from_send_us: Vec<u32>,
    /// Admin requests: due time → answer read, µs.
    admin_from_due_us: Vec<u32>,
    crypto: Outcomes,
    admin: Outcomes,
    /// Answers (any request, any outcome) that arrived in this minute, whenever due.
    completed: u64,
}

/// One worker's (or, merged, the whole run's) record.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    minutes: Vec<Bucket>,
}

impl Recorder {
    /// Records one request of `class`, due in `minute`.
    pub fn record(
        &mut self,
        minute: usize,
        class: Class,
        from_due_us: u32,
        from_send_us: u32,
        outcome: Outcome,
    ) {
        if self.minutes.len() <= minute {
            self.minutes.resize_with(minute + 1, Bucket::default);
        }
        let Some(bucket) = self.minutes.get_mut(minute) else {
            return;
        };
        match class {
            Class::Crypto => {
                bucket.crypto_from_due_us.push(from_due_us);
                bucket.crypto_from_send_us.push(from_send_us);
                bucket.crypto.add(outcome);
            }
            Class::Admin => {
                bucket.admin_from_due_us.push(from_due_us);
                bucket.admin.add(outcome);
            }
        }
    }

    /// Counts one answer arriving in `minute` (any request, any outcome).
    pub fn record_completion(&mut self, minute: usize) {
        if self.minutes.len() <= minute {
            self.minutes.resize_with(minute + 1, Bucket::default);
        }
        if let Some(bucket) = self.minutes.get_mut(minute) {
            bucket.completed += 1;
        }
    }

    /// Takes in everything `other` recorded.
    pub fn merge(&mut self, other: Recorder) {
        if self.minutes.len() < other.minutes.len() {
            self.minutes
                .resize_with(other.minutes.len(), Bucket::default);
        }
        for (mine, theirs) in self.minutes.iter_mut().zip(other.minutes) {
            mine.crypto_from_due_us.extend(theirs.crypto_from_due_us);
            mine.crypto_from_send_us.extend(theirs.crypto_from_send_us);
            mine.admin_from_due_us.extend(theirs.admin_from_due_us);
            mine.crypto.merge(&theirs.crypto);
            mine.admin.merge(&theirs.admin);
            mine.completed += theirs.completed;
        }
    }

    /// The whole run's crypto latencies from the due time (µs, ascending) and the crypto
    /// outcomes, every minute together.
    pub fn crypto_overall(&self) -> (Vec<u32>, Outcomes) {
        let mut latencies = Vec::new();
        let mut outcomes = Outcomes::default();
        for bucket in &self.minutes {
            latencies.extend_from_slice(&bucket.crypto_from_due_us);
            outcomes.merge(&bucket.crypto);
        }
        latencies.sort_unstable();
        (latencies, outcomes)
    }

    /// Per-minute summaries; `seconds_in(minute)` gives each minute's length (the last may be
    /// partial) for the rate.
    pub fn summarize(mut self, seconds_in: impl Fn(usize) -> f64) -> Vec<MinuteSummary> {
        self.minutes
            .iter_mut()
            .enumerate()
            .map(|(minute, bucket)| {
                bucket.crypto_from_due_us.sort_unstable();
                bucket.crypto_from_send_us.sort_unstable();
                bucket.admin_from_due_us.sort_unstable();
                let seconds = seconds_in(minute);
                let requests = bucket.crypto.total() + bucket.admin.total();
                MinuteSummary {
                    minute: minute + 1,
                    requests,
                    requests_per_sec: per_second(requests, seconds),
                    completed_per_sec: per_second(bucket.completed, seconds),
                    crypto: LatencySummary::of_sorted(&bucket.crypto_from_due_us),
                    crypto_service: LatencySummary::of_sorted(&bucket.crypto_from_send_us),
                    admin: LatencySummary::of_sorted(&bucket.admin_from_due_us),
                    crypto_outcomes: bucket.crypto,
                    admin_outcomes: bucket.admin,
                }
            })
            .collect()
    }
}

fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The value at percentile `p` (0–100) of `sorted` by nearest rank; `None` when empty.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// p50, p99 and max of one minute's latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LatencySummary {
    /// Requests measured.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl LatencySummary {
    /// The summary of `sorted` (µs, ascending).
    pub fn of_sorted(sorted: &[u32]) -> LatencySummary {
        let ms = |p: f64| percentile(sorted, p).map_or(0.0, |us| f64::from(us) / 1000.0);
        LatencySummary {
            count: sorted.len() as u64,
            p50_ms: ms(50.0),
            p99_ms: ms(99.0),
            max_ms: ms(100.0),
        }
    }
}

/// One minute of the soak.
#[derive(Debug, Clone, Serialize)]
pub struct MinuteSummary {
    /// 1-based minute.
    pub minute: usize,
    /// Requests due in this minute (crypto and admin, any outcome).
    pub requests: u64,
    /// `requests` ÷ the minute's length: the offered rate.
    pub requests_per_sec: f64,
    /// Answers that arrived in this minute ÷ its length: the achieved rate.
    pub completed_per_sec: f64,
    /// Crypto latency from the due time (the honest figure under a constant rate).
    pub crypto: LatencySummary,
    /// Crypto latency from the moment the request was sent (service time only).
    pub crypto_service: LatencySummary,
    /// Admin latency from the due time.
    pub admin: LatencySummary,
    /// Crypto outcomes.
    pub crypto_outcomes: Outcomes,
    /// Admin outcomes.
    pub admin_outcomes: Outcomes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), Some(50));
        assert_eq!(percentile(&sorted, 99.0), Some(99));
        assert_eq!(percentile(&sorted, 100.0), Some(100));
        assert_eq!(percentile(&sorted, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // 1,000 values: p99 is the 990th.
        let sorted: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&sorted, 99.0), Some(990));
    }

    #[test]
    fn requests_land_in_the_minute_they_were_due_and_merge() {
        let mut first = Recorder::default();
        let mut second = Recorder::default();
        for latency in 1..=100 {
            first.record(0, Class::Crypto, latency * 1000, latency * 500, Outcome::Ok);
        }
        second.record(
            2,
            Class::Crypto,
            9_000,
            8_000,
            Outcome::of_status(503, false),
        );
        second.record(
            2,
            Class::Admin,
            40_000,
            39_000,
            Outcome::of_status(201, false),
        );
        second.record(0, Class::Crypto, 1_000, 900, Outcome::of_status(200, true));
        // 120 answers in the first minute, 3 in the third (one due in the first).
        for _ in 0..120 {
            first.record_completion(0);
        }
        for _ in 0..3 {
            second.record_completion(2);
        }
        first.merge(second);
        let minutes = first.summarize(|_| 60.0);
        assert_eq!(minutes.len(), 3);
        let one = &minutes[0];
        assert_eq!(one.minute, 1);
        assert_eq!(one.requests, 101);
        assert!((one.requests_per_sec - 101.0 / 60.0).abs() < 1e-9);
        assert!((one.completed_per_sec - 2.0).abs() < 1e-9);
        assert!((minutes[2].completed_per_sec - 0.05).abs() < 1e-9);
        assert!((one.crypto.p50_ms - 50.0).abs() < 1e-9);
        assert!((one.crypto.p99_ms - 99.0).abs() < 1e-9);
        assert!((one.crypto_service.p99_ms - 49.5).abs() < 1e-9);
        assert_eq!(one.crypto_outcomes.batch_item_errors, 1);
        // A minute with no traffic is still a row, with zeros.
        assert_eq!(minutes[1].requests, 0);
        assert_eq!(minutes[1].crypto.count, 0);
        let three = &minutes[2];
        assert_eq!(three.crypto_outcomes.server_errors, 1);
        assert_eq!(three.admin_outcomes.ok, 1);
        assert!((three.admin.max_ms - 40.0).abs() < 1e-9);
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(Outcome::of_status(204, false), Outcome::Ok);
        assert_eq!(Outcome::of_status(200, true), Outcome::BatchItemError);
        assert_eq!(Outcome::of_status(429, false), Outcome::TooManyRequests);
        assert_eq!(Outcome::of_status(404, false), Outcome::OtherStatus);
        assert_eq!(Outcome::of_status(502, false), Outcome::ServerError);
        let mut outcomes = Outcomes::default();
        outcomes.add(Outcome::Transport);
        outcomes.add(Outcome::Ok);
        assert_eq!(outcomes.total(), 2);
    }
}
