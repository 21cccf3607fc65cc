//! `vulndesk bench` as a user runs it. The figures are checked for being there and
//! plausible, never against a time: the machines are shared and noisy. SQLite only, the
//! default: intake itself is tested on both backends by `intake` and `durability`.

use std::process::Command;

use serde_json::Value;

use crate::helpers::BIN;

/// Runs `vulndesk bench ARGS --json` and reads its last line, the figures.
fn bench_json(args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .expect("run vulndesk bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line not JSON ({e}): {last}"))
}

#[test]
fn intake_ends_with_a_json_line_of_its_figures() {
    let figures = bench_json(&["intake", "--clients", "4", "--seconds", "1"]);
    for field in [
        "rps",
        "baseline_rps",
        "ratio",
        "p50_ms",
        "p99_ms",
        "clients",
        "db",
        "reports",
        "cpu_ms_per_report",
    ] {
        assert!(figures.get(field).is_some(), "no {field} in {figures}");
    }
    assert_eq!(figures["db"], "sqlite", "{figures}");
    assert_eq!(figures["clients"], 4, "{figures}");
    assert!(
        figures["rps"].as_f64().is_some_and(|r| r > 0.0),
        "{figures}"
    );
    assert!(
        figures["reports"].as_u64().is_some_and(|n| n > 0),
        "{figures}"
    );
}

#[test]
fn coordination_renders_both_pages_for_a_large_and_a_one_party_case() {
    let figures = bench_json(&[
        "coordination",
        "--parties",
        "6",
        "--messages",
        "40",
        "--rounds",
        "2",
    ]);
    assert_eq!(figures["parties"], 6, "{figures}");
    let pages: Vec<&str> = figures["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["page"].as_str().unwrap())
        .collect();
    assert_eq!(pages, ["team case page", "party portal"], "{figures}");
    for page in figures["pages"].as_array().unwrap() {
        for field in ["mean_ms", "p95_ms", "one_party_mean_ms", "ratio"] {
            assert!(
                page[field].as_f64().is_some_and(|v| v > 0.0),
                "{field}: {figures}"
            );
        }
    }
}
