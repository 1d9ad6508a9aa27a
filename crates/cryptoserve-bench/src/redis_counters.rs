//! Redis command counts per request, from `INFO commandstats`.

/// Command counts from Redis. Commands a Lua script runs (`TIME`, `GET`, `SET`) are counted
/// too, so round trips are best seen in `scripts`: one `EVALSHA`/`EVAL` is one round trip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisCounters {
    /// Every command, including those run inside scripts.
    pub commands: u64,
    /// `EVAL`, `EVALSHA` and their read-only variants: one client round trip each.
    pub scripts: u64,
}

/// The counters of the Redis on `127.0.0.1:port` so far (via `redis-cli`); `None` when it
/// cannot be asked.
pub fn read(port: u16) -> Option<RedisCounters> {
    let output = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["INFO", "commandstats"])
        .output()
        .ok()?;
    Some(RedisCounters::parse(&String::from_utf8_lossy(
        &output.stdout,
    )))
}

impl RedisCounters {
    /// Sums the `calls=` of `INFO commandstats` output, leaving out `INFO` itself.
    pub fn parse(info: &str) -> RedisCounters {
        let mut counters = RedisCounters::default();
        for line in info.lines() {
            let Some((name, stats)) = line
                .strip_prefix("cmdstat_")
                .and_then(|rest| rest.split_once(':'))
            else {
                continue;
            };
            let calls = stats
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))
                .and_then(|calls| calls.parse::<u64>().ok())
                .unwrap_or(0);
            if name == "info" {
                continue;
            }
            counters.commands += calls;
            if name.starts_with("eval") {
                counters.scripts += calls;
            }
        }
        counters
    }
}

#[cfg(test)]
mod tests {
    use super::RedisCounters;

    #[test]
    fn counts_commands_and_script_round_trips() {
        let info = "# Commandstats\r\n\
            cmdstat_evalsha:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_get:calls=30,usec=10\r\n\
            cmdstat_info:calls=4,usec=90\r\n";
        let counters = RedisCounters::parse(info);
        assert_eq!(
            counters,
            RedisCounters {
                commands: 40,
                scripts: 10
            }
        );
    }
}
