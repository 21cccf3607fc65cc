use proptest::prelude::*;

use super::*;
use crate::policy::{Policy, Slug};

fn product(slug: &str, supported: &[&str], unsupported: &[&str]) -> Product {
    Product {
        slug: Slug::parse(slug).unwrap(),
        name: format!("The {slug} product"),
        repository: None,
        supported: supported.iter().map(|s| s.to_string()).collect(),
        unsupported: unsupported.iter().map(|s| s.to_string()).collect(),
        support_statement: None,
        lines: Vec::new(),
    }
}

const SUPPORTED: &str = ">=2.0.0, <3.0.0";
const UNSUPPORTED: &str = ">=1.0.0, <2.0.0";

/// The product exactly as policies/salestim.toml states it.
fn salestim() -> Product {
    let path = format!(
        "{}/../../policies/salestim.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let source = std::fs::read_to_string(&path).unwrap();
    let policy = Policy::parse(&path, &source).unwrap_or_else(|e| panic!("{e}"));
    let p = policy.product("salestim").unwrap().clone();
    let lines: Vec<(&str, &str, bool)> = p
        .lines
        .iter()
        .map(|l| (l.name.as_str(), l.versions.as_str(), l.supported))
        .collect();
    assert_eq!(
        lines,
        [("2.x", SUPPORTED, true), ("1.x", UNSUPPORTED, false)]
    );
    p
}

fn supported() -> Support {
    Support::Supported {
        range: SUPPORTED.into(),
    }
}

fn unsupported() -> Support {
    Support::Unsupported {
        range: Some(UNSUPPORTED.into()),
    }
}

const OUTSIDE: Support = Support::Unsupported { range: None };

fn why(s: Support) -> String {
    match s {
        Support::Unknown { why } => why,
        other => panic!("expected Unknown, got {other:?}"),
    }
}

#[test]
fn salestim_1_x_is_unsupported_as_its_policy_says() {
    let p = salestim();
    for v in ["1.4.2", "1.0.0", "1.99.99", "1", "v1.4"] {
        assert_eq!(support(&p, v), unsupported(), "{v}");
    }
}

#[test]
fn salestim_2_x_is_supported_at_both_ends() {
    let p = salestim();
    for v in ["2.0.0", "2.9.9", "2.1.3", "2", "2.0"] {
        assert_eq!(support(&p, v), supported(), "{v}");
    }
}

#[test]
fn versions_outside_every_supported_range_are_unsupported_without_a_range() {
    let p = salestim();
    for v in ["3.0.0", "3.0.0-rc1", "0.9.0", "0.0.1", "10.0.0"] {
        assert_eq!(support(&p, v), OUTSIDE, "{v}");
    }
}

#[test]
fn versions_are_read_as_reporters_write_them() {
    let p = salestim();
    for v in [
        "v2.1",
        "V2.1",
        " 2.1.3\n",
        "v2.1.3",
        "2.01.3",
        "2.1+build.5",
        "2.1.3+build-5",
    ] {
        assert_eq!(support(&p, v), supported(), "{v:?}");
    }
}

#[test]
fn pre_releases_belong_to_the_line_they_lead_to() {
    let p = salestim();
    for v in [
        "2.1.0-rc1",
        "2.0.0-beta.2",
        "v2.1-rc.1",
        "2.9.9-alpha+exp.sha.5114f85",
    ] {
        assert_eq!(support(&p, v), supported(), "{v}");
    }
    assert_eq!(support(&p, "1.9.0-rc1"), unsupported());
}

#[test]
fn text_without_a_version_is_unknown_and_says_why() {
    let p = salestim();
    assert_eq!(
        why(support(&p, "latest")),
        "\"latest\" is not a version number"
    );
    assert_eq!(why(support(&p, "")), "no version was given");
    assert_eq!(why(support(&p, "   ")), "no version was given");
    for v in [
        "v",
        "2.x",
        "1.x.x",
        "2.1.3.4",
        "2..1",
        ".2",
        "2.",
        "+2",
        "-2",
        "2.1 beta",
        "version 2",
        "2.1.0-",
        "2.1.0-01",
        "99999999999999999999",
    ] {
        let why = why(support(&p, v));
        assert!(
            why.starts_with(&format!("{:?} is not a version number", v.trim())),
            "{v:?}: {why}"
        );
    }
}

#[test]
fn unsupported_ranges_win_over_supported_ones() {
    let p = product("app", &[">=2.0.0, <3.0.0"], &["=2.3.1"]);
    assert_eq!(
        support(&p, "2.3.1"),
        Support::Unsupported {
            range: Some("=2.3.1".into())
        }
    );
    assert_eq!(
        support(&p, "2.3.2"),
        Support::Supported {
            range: ">=2.0.0, <3.0.0".into()
        }
    );
}

#[test]
fn the_first_matching_range_is_named() {
    let p = product("app", &["^3", ">=2.0.0, <4.0.0"], &[]);
    let range = |v| match support(&p, v) {
        Support::Supported { range } => range,
        other => panic!("{v}: {other:?}"),
    };
    assert_eq!(range("3.2"), "^3");
    assert_eq!(range("2.2"), ">=2.0.0, <4.0.0");
}

#[test]
fn a_product_without_ranges_is_unknown() {
    let p = product("asterisk", &[], &[]);
    assert_eq!(
        support(&p, "20.1.0"),
        Support::Unknown {
            why: "the policy states no version ranges for The asterisk product".into()
        }
    );
    assert!(!support(&p, "20.1.0").suggests_decline());
}

#[test]
fn only_unsupported_ranges_leave_other_versions_unknown() {
    let p = product("app", &[], &["<2.0.0"]);
    assert_eq!(
        support(&p, "1.2"),
        Support::Unsupported {
            range: Some("<2.0.0".into())
        }
    );
    assert!(matches!(support(&p, "2.0.0"), Support::Unknown { .. }));
}

#[test]
fn sangoma_products_state_no_ranges() {
    let path = format!("{}/../../policies/sangoma.toml", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    let policy = Policy::parse(&path, &source).unwrap_or_else(|e| panic!("{e}"));
    for p in &policy.products {
        assert_eq!(
            support(p, "18.20.0"),
            Support::Unknown {
                why: format!("the policy states no version ranges for {}", p.name)
            }
        );
    }
}

#[test]
fn an_invalid_range_gives_no_answer_rather_than_a_wrong_one() {
    let p = product("app", &[">=2.0.0 <3"], &[]);
    let why = why(support(&p, "2.1.0"));
    assert!(
        why.starts_with("the policy's version range \">=2.0.0 <3\" is invalid: "),
        "{why}"
    );
}

#[test]
fn only_unsupported_suggests_declining() {
    assert!(unsupported().suggests_decline());
    assert!(OUTSIDE.suggests_decline());
    assert!(!supported().suggests_decline());
    assert!(!Support::Unknown { why: "x".into() }.suggests_decline());
}

#[test]
fn support_serialises_with_a_kebab_case_tag() {
    let json = |s: &Support| serde_json::to_string(s).unwrap();
    assert_eq!(
        json(&supported()),
        r#"{"support":"supported","range":">=2.0.0, <3.0.0"}"#
    );
    assert_eq!(json(&OUTSIDE), r#"{"support":"unsupported","range":null}"#);
    assert_eq!(
        json(&Support::Unknown { why: "w".into() }),
        r#"{"support":"unknown","why":"w"}"#
    );
}

#[test]
fn valid_ranges_pass_the_check() {
    assert!(check_ranges(&salestim()).is_empty());
    assert!(check_ranges(&product("app", &[], &[])).is_empty());
    let p = product(
        "app",
        &["^2", "~1.4", "2.*", ">=1.2.3-beta, <2"],
        &["<1", "=0.9.0"],
    );
    assert_eq!(check_ranges(&p), Vec::<String>::new());
}

#[test]
fn invalid_ranges_are_named_by_product_list_and_index() {
    let p = product(
        "teams-app",
        &[">=2.0.0, <3.0.0", ">=2.0.0 <3", "latest"],
        &["", "=>1"],
    );
    let errors = check_ranges(&p);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    let reason = |text: &str| VersionReq::parse(text).unwrap_err().to_string();
    assert_eq!(
        errors,
        [
            format!(
                "product \"teams-app\": supported[1] \">=2.0.0 <3\": {}",
                reason(">=2.0.0 <3")
            ),
            format!(
                "product \"teams-app\": supported[2] \"latest\": {}",
                reason("latest")
            ),
            format!("product \"teams-app\": unsupported[0] \"\": {}", reason("")),
            format!(
                "product \"teams-app\": unsupported[1] \"=>1\": {}",
                reason("=>1")
            ),
        ]
    );
}

#[test]
fn a_range_both_supported_and_unsupported_is_reported() {
    let p = product("app", &["<1", ">=2.0.0, <3.0.0"], &[">=2.0.0,<3.0.0"]);
    assert_eq!(
        check_ranges(&p),
        ["product \"app\": unsupported[0] \">=2.0.0,<3.0.0\": also listed as supported[1]"]
    );
}

proptest! {
    #[test]
    fn salestim_support_follows_the_major_number(
        major in 0u64..6,
        minor in 0u64..1000,
        patch in 0u64..1000,
        style in 0usize..4,
    ) {
        let p = salestim();
        let reported = match style {
            0 => format!("{major}.{minor}.{patch}"),
            1 => format!("v{major}.{minor}.{patch}"),
            2 => format!("{major}.{minor}"),
            _ => format!("{major}.{minor}.{patch}-rc.{patch}"),
        };
        let expected = match major {
            1 => unsupported(),
            2 => supported(),
            _ => OUTSIDE,
        };
        prop_assert_eq!(support(&p, &reported), expected);
    }
}
