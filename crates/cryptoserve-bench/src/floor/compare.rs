//! The floor comparison's runner: one floor server for the whole comparison, and each of our
//! single-server setups in turn ([`OURS`]) beside it, measured in alternating rounds.
//!
//! For each of our setups: start it and prepare it as every CryptoServe setup is (context,
//! raised limits, a ciphertext), then for every round, pair ([`pairs`]) and concurrency run
//! the floor's scenario and ours one right after the other with the same wrk settings
//! ([`runner::measure`]: warm-up, measured run, `/proc` sampling), the floor first in odd
//! rounds and second in even ones, so neither side always runs on a machine the other has
//! just warmed (or just loaded). Each round's ratio pairs the two adjacent runs, so a change
//! in the machine's background load between rounds moves both sides of a ratio alike.
//!
//! The floor's requests are ours with only the path changed (`/live`, `/encrypt`): the same
//! body file and the same `Authorization` header, which the floor ignores, so both read the
//! same bytes.

use std::path::Path;

use crate::error::{io_err, BenchError, Result};
use crate::runner::{self, Plan, Target};
use crate::scenario::{
    Scenario, CONCURRENCIES, DECRYPT_256, ENCRYPT_16K, ENCRYPT_256, HEALTH_LIVE,
};
use crate::setup::{Running, SetupInputs, SetupKind};
use crate::wrk::RequestSpec;

use super::process::FloorServer;
use super::result::{ratio, Comparison, FloorResult, RoundPair};

/// Our setups compared with the floor, in run order.
pub const OURS: [SetupKind; 3] = [
    SetupKind::Embedded,
    SetupKind::Redis,
    SetupKind::RedisUnleased,
];

/// A floor route, named in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorRoute {
    /// `GET /live`.
    Live,
    /// `POST /encrypt`, 256 B.
    Encrypt256,
    /// `POST /encrypt`, 16 KiB.
    Encrypt16k,
}

/// `GET /live` on the floor.
pub const FLOOR_LIVE: &str = "floor_live";
/// `POST /encrypt` of 256 B on the floor.
pub const FLOOR_ENCRYPT_256: &str = "floor_encrypt_256";
/// `POST /encrypt` of 16 KiB on the floor.
pub const FLOOR_ENCRYPT_16K: &str = "floor_encrypt_16k";

impl FloorRoute {
    /// Scenario name in reports.
    pub fn name(self) -> &'static str {
        match self {
            FloorRoute::Live => FLOOR_LIVE,
            FloorRoute::Encrypt256 => FLOOR_ENCRYPT_256,
            FloorRoute::Encrypt16k => FLOOR_ENCRYPT_16K,
        }
    }

    /// Our scenario whose request this route's copies (with its own path).
    fn template(self) -> &'static str {
        match self {
            FloorRoute::Live => HEALTH_LIVE,
            FloorRoute::Encrypt256 => ENCRYPT_256,
            FloorRoute::Encrypt16k => ENCRYPT_16K,
        }
    }

    fn path(self) -> &'static str {
        match self {
            FloorRoute::Live => "/live",
            FloorRoute::Encrypt256 | FloorRoute::Encrypt16k => "/encrypt",
        }
    }
}

/// Which of our scenarios each setup puts against which floor route.
pub fn pairs(kind: SetupKind) -> &'static [(&'static str, FloorRoute)] {
    match kind {
        SetupKind::Embedded => &[
            (HEALTH_LIVE, FloorRoute::Live),
            (ENCRYPT_256, FloorRoute::Encrypt256),
            (DECRYPT_256, FloorRoute::Encrypt256),
            (ENCRYPT_16K, FloorRoute::Encrypt16k),
        ],
        SetupKind::Redis | SetupKind::RedisUnleased => &[(ENCRYPT_256, FloorRoute::Encrypt256)],
        _ => &[],
    }
}

/// Starts the floor, compares each of [`OURS`] with it over `rounds` rounds, stops it all.
pub fn measure(
    inputs: &SetupInputs,
    plan: &Plan,
    workdir: &Path,
    rounds: u32,
) -> Result<FloorResult> {
    plan.check_stop()?;
    let floor = FloorServer::start(&inputs.floor_binary)?;
    let mut comparisons = Vec::new();
    for kind in OURS {
        plan.check_stop()?;
        let dir = workdir.join(format!("floor-{}", kind.name()));
        std::fs::create_dir_all(&dir).map_err(io_err("creating the floor work dir"))?;
        let running = Running::start(kind, inputs)?;
        let (_, scenarios) = runner::prepare_cryptoserve(&running, &dir)?;
        comparisons.extend(compare(&floor, &running, &scenarios, plan, &dir, rounds)?);
        if !running.is_guard_alive() {
            return Err(BenchError::Server(format!(
                "a server process of the {} setup died during the floor comparison",
                kind.name()
            )));
        }
    }
    if !floor.is_alive() {
        return Err(BenchError::Server(
            "the floor died during its comparison".into(),
        ));
    }
    Ok(FloorResult {
        rounds,
        comparisons,
    })
}

/// Every pair of `running`'s setup against the floor, `rounds` times.
fn compare(
    floor: &FloorServer,
    running: &Running,
    scenarios: &[Scenario],
    plan: &Plan,
    dir: &Path,
    rounds: u32,
) -> Result<Vec<Comparison>> {
    let kind = running.kind;
    let find = |name: &str| {
        scenarios
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| BenchError::Server(format!("no {name} scenario")))
    };
    let mut sides = Vec::new();
    for &(ours, route) in pairs(kind) {
        let template = find(route.template())?;
        let floor_scenario = Scenario {
            name: route.name(),
            description: "the floor",
            request: RequestSpec {
                path: route.path().to_owned(),
                ..template.request.clone()
            },
        };
        sides.push((find(ours)?, floor_scenario));
    }
    let floor_url = floor.url();
    let floor_watch = floor.watch();
    let floor_target = Target {
        url: &floor_url,
        watch: &floor_watch,
        redis_port: None,
    };
    let ours_target = running.target();
    let mut comparisons: Vec<Comparison> = Vec::new();
    for round in 1..=rounds {
        let floor_first = round % 2 == 1;
        for (ours, floor_scenario) in &sides {
            for concurrency in CONCURRENCIES {
                plan.check_stop()?;
                eprintln!(
                    "  floor round {round}: {} {} vs {} c={concurrency}",
                    kind.name(),
                    ours.name,
                    floor_scenario.name
                );
                let run_floor =
                    || runner::measure(&floor_target, plan, dir, floor_scenario, concurrency);
                let (floor_run, ours_run) = if floor_first {
                    let floor_run = run_floor()?;
                    (
                        floor_run,
                        runner::measure(&ours_target, plan, dir, ours, concurrency)?,
                    )
                } else {
                    let ours_run = runner::measure(&ours_target, plan, dir, ours, concurrency)?;
                    (run_floor()?, ours_run)
                };
                let pair = RoundPair {
                    round,
                    floor_first,
                    ratio: ratio(
                        ours_run.wrk.requests_per_sec,
                        floor_run.wrk.requests_per_sec,
                    ),
                    floor: floor_run,
                    ours: ours_run,
                };
                let slot = comparisons.iter_mut().find(|c| {
                    c.ours == ours.name
                        && c.floor == floor_scenario.name
                        && c.concurrency == concurrency
                });
                match slot {
                    Some(comparison) => comparison.rounds.push(pair),
                    None => comparisons.push(Comparison {
                        setup: kind,
                        ours: ours.name,
                        floor: floor_scenario.name,
                        concurrency,
                        rounds: vec![pair],
                        ratio: None,
                    }),
                }
            }
        }
    }
    for comparison in &mut comparisons {
        comparison.summarise();
    }
    Ok(comparisons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compared_setup_has_pairs_and_the_routes_copy_ours() {
        for kind in OURS {
            assert!(!pairs(kind).is_empty(), "{kind:?}");
        }
        assert!(pairs(SetupKind::Cluster).is_empty());
        let embedded: Vec<&str> = pairs(SetupKind::Embedded).iter().map(|p| p.0).collect();
        assert_eq!(
            embedded,
            [HEALTH_LIVE, ENCRYPT_256, DECRYPT_256, ENCRYPT_16K]
        );
        assert_eq!(FloorRoute::Encrypt16k.template(), ENCRYPT_16K);
        assert_eq!(FloorRoute::Live.path(), "/live");
    }
}
