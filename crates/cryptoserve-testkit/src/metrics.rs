//! Reading Prometheus text exposition (`/metrics`) in tests.

/// The sum of every sample of `name` (any labels) whose label set contains `labels`, for
/// example `operation="encrypt"` or several adjacent labels in Prometheus's sorted order.
/// Comment lines and metrics whose name merely starts with `name` are skipped.
pub fn sum(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| line.contains(labels))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP requests_total Requests
# TYPE requests_total counter
requests_total{route=\"/a\",status=\"200\"} 3
requests_total{route=\"/b\",status=\"200\"} 4
requests_total{route=\"/b\",status=\"500\"} 1
requests_total_created 99
requests 7
";

    #[test]
    fn sums_matching_samples_of_exactly_that_name() {
        assert_eq!(sum(TEXT, "requests_total", ""), 8.0);
        assert_eq!(sum(TEXT, "requests_total", "status=\"200\""), 7.0);
        assert_eq!(
            sum(TEXT, "requests_total", "route=\"/b\",status=\"500\""),
            1.0
        );
        assert_eq!(sum(TEXT, "requests", ""), 7.0);
        assert_eq!(sum(TEXT, "absent", ""), 0.0);
    }
}
