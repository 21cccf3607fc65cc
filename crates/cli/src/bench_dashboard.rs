//! `vulndesk bench dashboard`: the team's dashboard and search over many cases, on the
//! real store (SQLite by default, or any `--db`), each query reported as a multiple of a
//! point lookup of one case measured in the same run.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use vulndesk_core::case::Event;
use vulndesk_desk::cases;
use vulndesk_store::{CaseQuery, NewCase, SqliteSync, Store, StoreOptions, Visible};

use crate::CliError;
use crate::bench::{POLICIES, Seq};
use crate::server_cmd::store_policy;

const COMPONENTS: [&str; 10] = [
    "parser", "header", "token", "session", "export", "upload", "redirect", "template", "plugin",
    "webhook",
];
const FLAWS: [&str; 10] = [
    "overflow",
    "injection",
    "bypass",
    "leak",
    "crash",
    "traversal",
    "scripting",
    "forgery",
    "race",
    "exhaustion",
];
const VECTORS: [&str; 3] = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:L/A:N",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
];
/// How many times each query runs; the mean is reported.
const ROUNDS: u32 = 50;

fn env_err(e: impl std::fmt::Display) -> CliError {
    CliError::Environment(e.to_string())
}

pub fn run(cases: u32, db: Option<String>) -> Result<(), CliError> {
    crate::server_cmd::runtime()?.block_on(async move {
        let dir = std::env::temp_dir().join(format!("vulndesk-bench-{}", std::process::id()));
        let url = match db {
            Some(url) => url,
            None => {
                std::fs::create_dir_all(&dir).map_err(env_err)?;
                format!("sqlite://{}/bench.db", dir.display())
            }
        };
        // Seeding is not what is measured: commits need not reach the disk.
        let options = StoreOptions {
            synchronous: SqliteSync::Normal,
            ..StoreOptions::default()
        };
        let store = Store::connect(&url, &options).await.map_err(env_err)?;
        store.migrate().await.map_err(env_err)?;
        if store.count_cases().await.map_err(env_err)? > 0 {
            return Err(CliError::Usage(format!(
                "{url} already holds cases: give an empty database"
            )));
        }
        let started = Instant::now();
        let orgs = seed(&store, cases).await?;
        println!(
            "bench dashboard: {cases} cases seeded in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        report(&store, cases, &orgs).await?;
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    })
}

/// Loads the reference policies and writes `count` cases spread over their organisations,
/// through the same case writes and projections the server uses. Returns the org ids.
async fn seed(store: &Store, count: u32) -> Result<Vec<i64>, CliError> {
    let mut scopes = Vec::new();
    for (name, source) in POLICIES {
        let policy = vulndesk_core::policy::Policy::parse(name, source)
            .map_err(|e| CliError::Invalid(e.to_string()))?;
        store_policy(store, &policy, source).await?;
        let org = store
            .organisation_by_slug(name)
            .await
            .map_err(env_err)?
            .ok_or_else(|| env_err("organisation"))?;
        let version = store
            .latest_policy(org.id)
            .await
            .map_err(env_err)?
            .ok_or_else(|| env_err("policy"))?;
        let product = policy.products[0].slug.to_string();
        let product_id = store
            .product(name, &product)
            .await
            .map_err(env_err)?
            .ok_or_else(|| env_err("product"))?
            .id;
        scopes.push((org.id, version.id, product, product_id, policy));
    }
    let mut seq = Seq(0xDA5B);
    let now = Timestamp::now();
    for n in 0..count {
        let (_, version_id, product, product_id, policy) =
            &scopes[seq.below(scopes.len() as u64) as usize];
        let at = now - SignedDuration::from_hours(seq.below(24 * 365));
        let component = COMPONENTS[seq.below(10) as usize];
        let flaw = FLAWS[seq.below(10) as usize];
        let mut events = vec![Event::Reported {
            product: product.clone(),
            title: format!("{flaw} in the {component} (ref zq{})", n % 1000),
            description: format!(
                "Sending a crafted request to the {component} causes {flaw}. Steps to reproduce \
                 follow; the impact is remote and needs no account."
            ),
            reporter_contact: Some(format!("finder{n}@example.org")),
            channel: vulndesk_core::case::Channel::Api,
            fields: Default::default(),
            language: None,
        }];
        if seq.below(3) == 0 {
            events.push(Event::SeverityAssessed {
                vector: VECTORS[seq.below(3) as usize].into(),
            });
        }
        if seq.below(2) == 0 {
            events.push(Event::OfficerAssigned {
                user_id: 1 + seq.below(3),
            });
        }
        match seq.below(4) {
            0 => events.push(Event::Accepted),
            1 => events.push(Event::NoteAdded {
                body: format!("bisected the {component} {flaw} to an old commit"),
                mentions: vec![],
            }),
            _ => {}
        }
        let (stored, log) =
            cases::prepare(events, &vulndesk_core::actor::Actor::Reporter, at).map_err(env_err)?;
        let projection = cases::project(policy, &log).map_err(env_err)?;
        let effects = vulndesk_store::Effects {
            search: cases::search_texts(&log),
            ..Default::default()
        };
        store
            .open_case(
                NewCase {
                    product_id: *product_id,
                    policy_version_id: *version_id,
                    reporter_token_hash: n.to_le_bytes().to_vec(),
                    opened_at: at,
                    reply_tag: None,
                },
                stored,
                projection,
                effects,
            )
            .await
            .map_err(env_err)?;
    }
    Ok(scopes.iter().map(|s| s.0).collect())
}

/// Mean time of `ROUNDS` runs of `query`, and how many rows the last one returned.
async fn mean<F, Fut>(mut query: F) -> Result<(Duration, usize), CliError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<usize, CliError>>,
{
    let mut rows = 0;
    let start = Instant::now();
    for round in 0..ROUNDS {
        rows = query(round).await?;
    }
    Ok((start.elapsed() / ROUNDS, rows))
}

async fn report(store: &Store, cases: u32, orgs: &[i64]) -> Result<(), CliError> {
    let ids = store.case_ids().await.map_err(env_err)?;
    let (baseline, _) = mean(|round| {
        let id = ids[(round as usize * 7919) % ids.len()];
        async move { Ok(store.case(id).await.map_err(env_err)?.map_or(0, |_| 1)) }
    })
    .await?;
    let member = |text: Option<&str>| CaseQuery {
        visible: Some(Visible {
            org_ids: vec![orgs[1]],
            case_ids: vec![],
            note_org_ids: vec![orgs[1]],
        }),
        states: cases::open_states(),
        text: text.map(str::to_owned),
        search_internal: true,
        limit: cases::DASHBOARD_PAGE,
        ..CaseQuery::default()
    };
    let queries: Vec<(&str, CaseQuery)> = vec![
        ("member's open cases, soonest deadline first", member(None)),
        (
            "admin, all organisations, critical, one officer",
            CaseQuery {
                severity: Some("critical".into()),
                officer_id: Some(2),
                limit: cases::DASHBOARD_PAGE,
                ..CaseQuery::default()
            },
        ),
        ("member's search, a rare word (zq7)", member(Some("zq7"))),
        (
            "member's search, common words (parser overflow)",
            member(Some("parser overflow")),
        ),
        (
            "member's search in notes (bisected)",
            member(Some("bisected")),
        ),
    ];
    println!(
        "{cases} cases over {} organisations; each query the mean of {ROUNDS} runs",
        orgs.len()
    );
    println!(
        "{:<56} {:>10} {:>8} {:>12}",
        "query", "ms", "rows", "x baseline"
    );
    println!(
        "{:<56} {:>10.3} {:>8} {:>12}",
        "baseline: one case by id",
        baseline.as_secs_f64() * 1e3,
        1,
        "1.0"
    );
    for (name, q) in queries {
        let (took, rows) = mean(|_| {
            let q = q.clone();
            async move { Ok(store.list_cases(&q).await.map_err(env_err)?.len()) }
        })
        .await?;
        println!(
            "{:<56} {:>10.3} {:>8} {:>12.1}",
            name,
            took.as_secs_f64() * 1e3,
            rows,
            took.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}
