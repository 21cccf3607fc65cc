//! The formats' official judges, for tests (this crate's and the desk's end to end): the
//! CVE JSON 5 and OSV schemas kept in `schemas/`, and the BSI's CSAF validator library run
//! by `tests/validators/csaf.mjs` (installed by `scripts/install-test-deps`). Built only
//! for tests or with the `judges` feature.

use std::path::PathBuf;

use serde_json::Value;

/// The CVE Record Format 5.1.1, bundled, as the CVE Program publishes it.
pub const CVE_SCHEMA: &str = include_str!("../schemas/cve/CVE_JSON_bundled_5.1.1.json");
/// The OSV schema.
pub const OSV_SCHEMA: &str = include_str!("../schemas/osv/schema.json");

/// Every error the official `schema` finds in `document`.
pub fn errors(schema: &str, document: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(schema).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Panics with every error the official `schema` finds in `document`.
pub fn valid(schema: &str, document: &Value) {
    let errors = errors(schema, document);
    assert!(
        errors.is_empty(),
        "{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(document).unwrap_or_default()
    );
}

/// The directory of the CSAF validator.
fn validators() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/validators")
}

/// What the BSI's CSAF validator says of `documents` (named): its report, and whether
/// every one is valid.
pub fn bsi(documents: &[(&str, Value)]) -> (bool, String) {
    let root = validators();
    assert!(
        root.join("node_modules/@secvisogram/csaf-validator-lib")
            .is_dir(),
        "the BSI CSAF validator is not installed: run scripts/install-test-deps"
    );
    let dir = std::env::temp_dir().join(format!(
        "vulndesk-csaf-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let files: Vec<PathBuf> = documents
        .iter()
        .map(|(name, doc)| {
            let file = dir.join(format!("{name}.json"));
            std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap_or_default())
                .expect("the document is written");
            file
        })
        .collect();
    let out = std::process::Command::new("node")
        .arg(root.join("csaf.mjs"))
        .args(&files)
        .current_dir(&root)
        .output()
        .expect("node runs the validator");
    let _ = std::fs::remove_dir_all(&dir);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let all_valid = out.status.success() && said.matches("valid: ").count() == documents.len();
    (all_valid, said)
}

/// Panics with the BSI validator's report unless every one of `documents` is valid.
pub fn bsi_valid(documents: &[(&str, Value)]) {
    let (ok, said) = bsi(documents);
    assert!(ok, "{said}");
}
