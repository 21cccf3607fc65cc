//! `vulndesk policy check|explain` as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn vulndesk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vulndesk"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run vulndesk")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const POLICIES: [&str; 6] = [
    "policies/sangoma.toml",
    "policies/freepbx.toml",
    "policies/kamailio.toml",
    "policies/salestim.toml",
    "policies/signalen.toml",
    "policies/template.toml",
];

#[test]
fn check_passes_the_reference_policies() {
    let out = vulndesk(&[&["policy", "check"][..], &POLICIES[..]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), POLICIES.len());
}

#[test]
fn check_names_file_line_column_and_key_of_a_misspelt_key() {
    let dir = std::env::temp_dir().join(format!("vd-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::fs::read_to_string(repo().join("policies/salestim.toml")).unwrap();
    let broken = source.replacen("patch_grace =", "patch_grcae =", 1);
    let line = broken
        .lines()
        .position(|l| l.starts_with("patch_grcae"))
        .unwrap()
        + 1;
    let file = dir.join("salestim.toml");
    std::fs::write(&file, broken).unwrap();
    let file = file.to_str().unwrap();

    let out = vulndesk(&["policy", "check", "policies/kamailio.toml", file]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{file}:{line}:1: disclosure.patch_grcae: unknown field `patch_grcae`"
        )),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("kamailio.toml: ok"),
        "the valid file is still reported"
    );
}

#[test]
fn check_names_a_misspelt_unit() {
    let dir = std::env::temp_dir().join(format!("vd-policy-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::fs::read_to_string(repo().join("policies/freepbx.toml")).unwrap();
    let file = dir.join("freepbx.toml");
    std::fs::write(
        &file,
        source.replacen("\"3 business days\"", "\"3 buisness days\"", 1),
    )
    .unwrap();
    let out = vulndesk(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "response.acknowledge.within: unknown unit \"buisness days\", expected days, business days or weeks"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn explain_json_gives_salestim_disclosure_on_the_next_business_day() {
    let out = vulndesk(&[
        "policy",
        "explain",
        "policies/salestim.toml",
        "--reported",
        "2026-04-05",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let disclosure = json["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "disclosure")
        .expect("a disclosure clock");
    assert_eq!(disclosure["due"], "2026-07-06");
    assert!(
        disclosure["derivation"][0]
            .as_str()
            .unwrap()
            .contains("2026-07-04 (Sat)")
    );
}

#[test]
fn explain_text_applies_exploitation_and_fix_flags() {
    let out = vulndesk(&[
        "policy",
        "explain",
        "policies/salestim.toml",
        "--reported",
        "2026-04-05",
        "--fix-scheduled",
        "2026-07-15",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("disclosure due 2026-07-15 (Wed)\n"),
        "{}",
        text(&out.stdout)
    );

    let out = vulndesk(&[
        "policy",
        "explain",
        "policies/salestim.toml",
        "--reported",
        "2026-04-05",
        "--exploited",
    ]);
    assert!(
        text(&out.stdout).starts_with("disclosure due 2026-04-13 (Mon)\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn explain_shows_an_outbound_report_and_a_leak_as_the_case_page_does() {
    let out = vulndesk(&[
        "policy",
        "explain",
        "policies/salestim.toml",
        "--reported",
        "2026-04-05",
        "--outbound",
        "--leaked",
        "2026-04-05",
    ]);
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("disclosure due 2026-04-13 (Mon)\n"),
        "{shown}"
    );
    assert!(shown.contains("an outbound report to a vendor"), "{shown}");
    assert!(
        shown.contains("the embargo broke: details leaked"),
        "{shown}"
    );
    assert!(
        !shown.contains("reporter_disclosure"),
        "we are the reporter: {shown}"
    );
}

#[test]
fn explain_rejects_a_bad_date_with_usage_exit_code() {
    let out = vulndesk(&[
        "policy",
        "explain",
        "policies/salestim.toml",
        "--reported",
        "2026-02-30",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
