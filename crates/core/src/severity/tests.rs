use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::*;

/// Known scores: the FIRST specification examples and calculator, one vector per band and
/// the edges (all-None impact, scope change, 4.0 threat, Safety).
#[test]
fn known_vectors_score_as_the_specifications_say() {
    let cases = [
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
            Rating::Critical,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            6.1,
            Rating::Medium,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            10.0,
            Rating::Critical,
        ),
        (
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            7.8,
            Rating::High,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            7.5,
            Rating::High,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
            0.0,
            Rating::None,
        ),
        (
            "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
            1.6,
            Rating::Low,
        ),
        (
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
            Rating::Critical,
        ),
        // Temporal metrics do not change the 3.x base score.
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U",
            9.8,
            Rating::Critical,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
            Rating::Critical,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
            Rating::None,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
            Rating::High,
        ),
        (
            "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            1.0,
            Rating::Low,
        ),
        // 4.0 threat metrics do change the score (CVSS-BT).
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
            8.1,
            Rating::High,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/MSI:S/MSA:S",
            10.0,
            Rating::Critical,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/S:P/AU:Y/R:A/V:D/RE:L/U:Red",
            9.2,
            Rating::Critical,
        ),
    ];
    for (vector, score, rating) in cases {
        let cvss = Cvss::parse(vector).unwrap_or_else(|e| panic!("{vector}: {e}"));
        assert_eq!(cvss.base_score(), score, "{vector}");
        assert_eq!(cvss.severity(), rating, "{vector}");
        assert_eq!(cvss.to_string(), vector, "already normalised: {vector}");
    }
}

#[test]
fn version_and_normalisation() {
    let v30 = Cvss::parse("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
    assert_eq!(v30.version(), Version::V3_0);
    // 3.x allows any order and Not Defined values; both are normalised away.
    let shuffled: Cvss = " CVSS:3.1/A:H/E:X/C:H/I:H/S:U/UI:N/PR:N/AC:L/AV:N/MAV:L\n"
        .parse()
        .unwrap();
    assert_eq!(shuffled.version(), Version::V3_1);
    assert_eq!(
        shuffled.to_string(),
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/MAV:L"
    );
    assert_eq!(shuffled.base_score(), 9.8);
    let v40 =
        Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:X/U:X")
            .unwrap();
    assert_eq!(v40.version(), Version::V4_0);
    assert_eq!(
        v40.to_string(),
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    );
}

#[test]
fn rating_bands() {
    for (score, rating) in [
        (0.0, Rating::None),
        (0.1, Rating::Low),
        (3.9, Rating::Low),
        (4.0, Rating::Medium),
        (6.9, Rating::Medium),
        (7.0, Rating::High),
        (8.9, Rating::High),
        (9.0, Rating::Critical),
        (10.0, Rating::Critical),
    ] {
        assert_eq!(Rating::from_score(score), rating, "{score}");
    }
    assert_eq!(Rating::Critical.to_string(), "Critical");
}

#[test]
fn malformed_vectors_name_the_problem() {
    let cases = [
        (
            "CVSS:3.1/AV:N/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1 vector: missing metric AC",
        ),
        (
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1 vector: unknown value X for metric AV, expected N, A, L or P",
        ),
        (
            "CVSS:3.1/AV:N/AC:M/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1 vector: unknown value M for metric AC, expected L or H",
        ),
        (
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1 vector: duplicate metric AV",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y",
            "CVSS:3.1 vector: unknown metric XX",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
            "CVSS:3.1 vector: malformed component \"\", expected METRIC:VALUE",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A",
            "CVSS:3.1 vector: malformed component \"A\", expected METRIC:VALUE",
        ),
        (
            // Values are case-sensitive abbreviations.
            "CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1 vector: unknown value n for metric AV, expected N, A, L or P",
        ),
        (
            // AT exists only in 4.0.
            "CVSS:3.0/AV:N/AC:L/AT:N/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.0 vector: unknown metric AT",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0 vector: missing metric AT",
        ),
        (
            "CVSS:4.0/AV:N/AT:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0 vector: metrics out of order, AC must come before AT",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:Red/E:A",
            "CVSS:4.0 vector: metrics out of order, E must come before U",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:S/SI:N/SA:N",
            "CVSS:4.0 vector: unknown value S for metric SC, expected H, L or N",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:red",
            "CVSS:4.0 vector: unknown value red for metric U, expected X, Clear, Green, Amber or Red",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/E:A",
            "CVSS:4.0 vector: duplicate metric E",
        ),
        (
            "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "unsupported CVSS version \"2.0\", expected 3.0, 3.1 or 4.0",
        ),
        (
            "AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "not a CVSS vector: expected it to start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/, got \"AV:N/AC:L/Au:N/C:P/I:P/A:P\"",
        ),
        (
            "9.8",
            "not a CVSS vector: expected it to start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/, got \"9.8\"",
        ),
    ];
    for (vector, message) in cases {
        match Cvss::parse(vector) {
            Ok(cvss) => panic!("{vector} was accepted as {cvss}"),
            Err(e) => assert_eq!(e.to_string(), message, "{vector}"),
        }
    }
}

/// SplitMix64: a fixed-seed generator written inline so the reference comparison is
/// reproducible and the core crate gains no dependency for it.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random valid vector: every base metric, and when `optional_share` > 0 each optional
/// metric with that probability (in percent), with any of its values including X.
fn random_vector(rng: &mut SplitMix64, version: Version, optional_share: usize) -> String {
    let mut vector = format!("CVSS:{version}");
    for spec in version.metrics() {
        if !spec.mandatory && rng.below(100) >= optional_share {
            continue;
        }
        let value = spec.values[rng.below(spec.values.len())];
        vector.push_str(&format!("/{}:{value}", spec.name));
    }
    vector
}

fn reference_scores(vectors: &[String]) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-test-deps",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(root.join("scripts/cvss-reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start scripts/cvss-reference.py");
    let mut stdin = child.stdin.take().unwrap();
    let input = vectors.join("\n");
    // Written from a thread: the script answers as it reads, so writing everything before
    // reading could fill both pipes and deadlock.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| l.expect("read reference output"))
        .collect();
    writer.join().unwrap().expect("write vectors");
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "scripts/cvss-reference.py failed ({status}); if the cvss module is missing, run scripts/install-test-deps"
    );
    assert_eq!(lines.len(), vectors.len(), "one reference line per vector");
    lines
}

/// Compares our scores and ratings with the Python `cvss` package for thousands of random
/// vectors of each version, base-only and with optional metric groups.
#[test]
fn random_vectors_match_the_python_reference() {
    let mut rng = SplitMix64(0x5EED_CB55_2025_0001);
    let mut vectors = Vec::new();
    for (version, count, optional_share) in [
        (Version::V3_1, 2000, 0),
        (Version::V3_1, 500, 40),
        (Version::V3_0, 500, 0),
        (Version::V3_0, 250, 40),
        (Version::V4_0, 2000, 0),
        (Version::V4_0, 1500, 30),
    ] {
        for _ in 0..count {
            vectors.push(random_vector(&mut rng, version, optional_share));
        }
    }
    let reference = reference_scores(&vectors);

    let mut mismatches = Vec::new();
    for (vector, line) in vectors.iter().zip(&reference) {
        let cvss = Cvss::parse(vector).unwrap_or_else(|e| panic!("{vector}: {e}"));
        assert_eq!(
            (cvss.base_score() * 10.0).round() / 10.0,
            cvss.base_score(),
            "{vector}: score has more than one decimal"
        );
        let ours = format!("{vector}\t{:.1}\t{}", cvss.base_score(), cvss.severity());
        if &ours != line {
            mismatches.push(format!("ours:      {ours}\nreference: {line}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} vectors differ from the Python cvss package; first ones:\n{}",
        mismatches.len(),
        vectors.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
}
