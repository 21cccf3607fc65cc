//! `vulndesk bench`: speed of the core computations, the dashboard and intake, reported as
//! ratios against a baseline measured in the same run, because absolute figures on shared
//! machines drift from one minute to the next.

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Subcommand;
use jiff::ToSpan;
use jiff::civil::{Date, date};
use vulndesk_core::clocks::{Facts, FixSchedule, clocks};
use vulndesk_core::policy::Policy;

use crate::CliError;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Compute every deadline for synthetic cases under each reference policy.
    Clocks {
        #[arg(long, default_value_t = 1_000_000)]
        cases: u32,
    },
    /// List, filter and search cases as the dashboard does, over many synthetic cases.
    Dashboard {
        #[arg(long, default_value_t = 20_000)]
        cases: u32,
        /// An empty database to use (default: a temporary SQLite file).
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// Post reports to the JSON API from concurrent clients, against bare one-row
    /// transactions on the same kind of database.
    Intake(crate::bench_intake::IntakeArgs),
    /// Render the team's case page and a party's portal for a case with many parties and a
    /// long conversation, against a case with one party.
    Coordination(crate::bench_coordination::CoordinationArgs),
}

pub(crate) const POLICIES: [(&str, &str); 5] = [
    ("sangoma", include_str!("../../../policies/sangoma.toml")),
    ("freepbx", include_str!("../../../policies/freepbx.toml")),
    ("kamailio", include_str!("../../../policies/kamailio.toml")),
    ("salestim", include_str!("../../../policies/salestim.toml")),
    ("signalen", include_str!("../../../policies/signalen.toml")),
];

pub fn run(cmd: BenchCommand) -> Result<(), CliError> {
    match cmd {
        BenchCommand::Clocks { cases } => bench_clocks(cases),
        BenchCommand::Dashboard { cases, db } => crate::bench_dashboard::run(cases, db),
        BenchCommand::Intake(args) => crate::bench_intake::run(args),
        BenchCommand::Coordination(args) => crate::bench_coordination::run(args),
    }
}

/// SplitMix64: a fixed, dependency-free sequence so every run measures the same cases.
pub(crate) struct Seq(pub(crate) u64);

impl Seq {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// Cases reported over ten years, a quarter exploited, half with a fix scheduled or released.
fn synthetic(count: u32) -> Vec<Facts> {
    let mut seq = Seq(0x5EED);
    let start = date(2020, 1, 1);
    let after = |d: Date, days: i64| d.saturating_add(days.days());
    (0..count)
        .map(|_| {
            let reported = after(start, seq.below(3650));
            let mut f = Facts::reported_on(reported);
            if seq.below(4) == 0 {
                f.exploited = Some(after(reported, seq.below(30)));
            }
            match seq.below(4) {
                0 => {
                    f.fix_scheduled = Some(FixSchedule {
                        release: after(reported, 60 + seq.below(60)),
                        announced: after(reported, seq.below(90)),
                    })
                }
                1 => f.fix_released = Some(after(reported, seq.below(120))),
                _ => {}
            }
            if seq.below(2) == 0 {
                f.human_acknowledged = Some(after(reported, seq.below(5)));
            }
            f
        })
        .collect()
}

fn timed(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn bench_clocks(cases: u32) -> Result<(), CliError> {
    let facts = synthetic(cases);
    // Baseline: the naive "report date + 90 calendar days" a spreadsheet would do, over the same cases.
    let baseline = timed(|| {
        for f in &facts {
            black_box(black_box(f.reported).saturating_add(90.days()));
        }
    });
    let rate = |d: Duration| f64::from(cases) / d.as_secs_f64().max(1e-9);
    println!("bench clocks: {cases} synthetic cases per policy");
    println!(
        "{:<10} {:>14} {:>12} {:>14}",
        "policy", "cases/s", "seconds", "x baseline"
    );
    println!(
        "{:<10} {:>14.0} {:>12.3} {:>14}",
        "baseline",
        rate(baseline),
        baseline.as_secs_f64(),
        "1.0"
    );
    let mut total = Duration::ZERO;
    for (name, source) in POLICIES {
        let policy = Policy::parse(name, source).map_err(|e| CliError::Invalid(e.to_string()))?;
        let mut deadlines = 0usize;
        let took = timed(|| {
            for f in &facts {
                deadlines += black_box(clocks(&policy, f)).deadlines.len();
            }
        });
        total += took;
        println!(
            "{:<10} {:>14.0} {:>12.3} {:>14.1}  ({deadlines} deadlines)",
            name,
            rate(took),
            took.as_secs_f64(),
            took.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
        );
    }
    println!(
        "all five: {:.0} cases/s over {} case computations",
        f64::from(cases) * 5.0 / total.as_secs_f64().max(1e-9),
        u64::from(cases) * 5
    );
    Ok(())
}
