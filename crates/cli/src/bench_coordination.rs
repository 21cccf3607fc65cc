//! `vulndesk bench coordination`: a case with many parties and a long conversation with
//! them (VINCE's 121-vendor case, and more), rendered as the team's case page and as one
//! party's portal by the real server over HTTP, each against the same page of a case with
//! one party, measured in the same run.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Args;
use jiff::{SignedDuration, Timestamp};
use vulndesk_core::access::Standing;
use vulndesk_core::actor::Actor;
use vulndesk_core::case::Event;
use vulndesk_core::coordination::PartyInput;
use vulndesk_desk::coordination::{PartyEntry, Selection};
use vulndesk_desk::intake::Report;
use vulndesk_desk::{Acting, Action, Desk, accounts, cases};
use vulndesk_store::{Effects, IfExists, NewSession, NewUser, Store};

use crate::CliError;
use crate::bench_intake::{Scratch, connect, exchange};

#[derive(Args)]
pub struct CoordinationArgs {
    /// Parties invited to the large case.
    #[arg(long, default_value_t = 200)]
    parties: u32,
    /// Messages in the large case's party threads.
    #[arg(long, default_value_t = 5_000)]
    messages: u32,
    /// Requests per page; the mean and the 95th percentile are reported.
    #[arg(long, default_value_t = 50)]
    rounds: u32,
    /// An empty database to use, sqlite:// or postgres:// (default: a temporary SQLite file).
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Also print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

fn env_err(e: impl std::fmt::Display) -> CliError {
    CliError::Environment(e.to_string())
}

pub fn run(args: CoordinationArgs) -> Result<(), CliError> {
    crate::server_cmd::runtime()?.block_on(async move {
        let scratch = Scratch::create(args.db.as_deref()).await?;
        let measured = measure(scratch.url(), &args).await;
        scratch.remove().await;
        let figures = measured?;
        figures.print(&args);
        if args.json {
            println!("{}", figures.json(&args));
        }
        Ok(())
    })
}

/// A case to render: its id and one party's portal path.
struct Seeded {
    case_id: i64,
    portal: String,
}

/// Mean and 95th percentile of a page's requests, in milliseconds.
type Timing = (f64, f64);

struct Figures {
    backend: &'static str,
    /// `(page, large case, one-party case)`.
    pages: Vec<(&'static str, Timing, Timing)>,
}

async fn measure(url: &str, args: &CoordinationArgs) -> Result<Figures, CliError> {
    let store = Store::connect(url, &vulndesk_store::StoreOptions::default())
        .await
        .map_err(env_err)?;
    store.migrate().await.map_err(env_err)?;
    let backend = match store.backend() {
        vulndesk_store::Backend::Sqlite => "sqlite",
        vulndesk_store::Backend::Postgres => "postgres",
    };
    let (_, source) = crate::bench::POLICIES
        .iter()
        .find(|(name, _)| *name == "signalen")
        .ok_or_else(|| env_err("the Signalen policy is built in"))?;
    let policy = vulndesk_core::policy::Policy::parse("signalen.toml", source)
        .map_err(|e| env_err(e.to_string()))?;
    crate::server_cmd::store_policy(&store, &policy, source).await?;
    let desk = Desk::new(store.clone());
    let org = desk.organisation("signalen").await?;
    let now = Timestamp::now();
    let officer = store
        .add_user(
            &NewUser {
                email: "bench@signalen.example".into(),
                name: "Bench Officer".into(),
                password_hash: accounts::hash_password("bench password, never used")
                    .map_err(|e| env_err(format!("{e:?}")))?,
                admin: false,
                totp_required: false,
            },
            now,
        )
        .await
        .map_err(env_err)?;
    store
        .set_membership(officer, org.id, Some("officer"))
        .await
        .map_err(env_err)?;
    let user = store
        .user(officer)
        .await
        .map_err(env_err)?
        .ok_or_else(|| env_err("the benchmark's officer is missing"))?;
    let cookie = accounts::random_token().map_err(env_err)?;
    store
        .create_session(
            &NewSession {
                id_hash: accounts::secret_hash(&cookie),
                user_id: officer,
                csrf_token: accounts::random_token().map_err(env_err)?,
                stage: "complete".into(),
                expires_at: now + SignedDuration::from_hours(2),
            },
            now,
        )
        .await
        .map_err(env_err)?;
    for n in 0..args.parties.max(1) {
        let entry = PartyEntry {
            input: PartyInput {
                slug: Some(format!("provider-{n}")),
                name: format!("Provider {n}"),
                kind: "service-provider".into(),
                contacts: vec![format!("security@provider-{n}.example")],
                ..PartyInput::default()
            },
            key: None,
        };
        desk.put_party(&org, &entry, IfExists::Refuse, now).await?;
    }
    let all: Vec<String> = (0..args.parties.max(1))
        .map(|n| format!("provider-{n}"))
        .collect();
    let large = seed(&desk, &user, org.id, all, args.messages).await?;
    // The one-party case's thread grows at the large case's rate per party.
    let per_party = (args.messages / args.parties.max(1)).max(1);
    let small = seed(&desk, &user, org.id, vec!["provider-0".into()], per_party).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(env_err)?;
    let addr = listener.local_addr().map_err(env_err)?;
    let state = vulndesk_web::AppState::new(store.clone())
        .with_rate_limit(vulndesk_web::rate_limit::RateLimit::per_minute(u32::MAX));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vulndesk_web::serve_until(listener, state, async {
        let _ = stopped.await;
    }));
    let cookie_header = format!("Cookie: vd_session={cookie}\r\n");
    let mut pages = Vec::new();
    for (name, path_of, headers) in [
        (
            "team case page",
            (|s: &Seeded| format!("/cases/{}", s.case_id)) as fn(&Seeded) -> String,
            cookie_header.as_str(),
        ),
        ("party portal", |s: &Seeded| s.portal.clone(), ""),
    ] {
        let big = time(addr, &path_of(&large), headers, args.rounds).await?;
        let one = time(addr, &path_of(&small), headers, args.rounds).await?;
        pages.push((name, big, one));
    }
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    Ok(Figures { backend, pages })
}

/// A Signalen case with `parties` invited and `messages` thread messages, alternating
/// between a party's and the team's, spread over the parties.
async fn seed(
    desk: &Desk,
    user: &vulndesk_store::UserRow,
    org_id: i64,
    parties: Vec<String>,
    messages: u32,
) -> Result<Seeded, CliError> {
    let report = Report::new(
        Some("signalen"),
        "signalen",
        "Stored XSS in the report form",
        "A crafted description runs script in an employee's browser.",
    )?;
    let opened = desk.submit(report, Timestamp::now()).await?;
    let case = desk
        .store()
        .case(opened.case_id)
        .await
        .map_err(env_err)?
        .ok_or_else(|| env_err("the benchmark's case is missing"))?;
    let invited = desk
        .act(
            &case,
            org_id,
            Acting {
                user,
                standing: Standing::Manager,
            },
            Action::Invite {
                selection: Selection {
                    parties: parties.clone(),
                    kinds: Vec::new(),
                },
                reply_by: jiff::tz::TimeZone::UTC
                    .to_datetime(Timestamp::now())
                    .date()
                    .saturating_add(jiff::Span::new().days(7)),
                summary: "A stored XSS in the report form; fixed in the next release.".into(),
            },
        )
        .await?;
    // Straight into the log, a write per party and side: seeding is not what is measured,
    // and a message per write would read the growing log each time. Message i goes to party
    // i mod n, so every thread is as long as the others.
    let store = desk.store();
    for (index, party) in parties.iter().enumerate() {
        let mut from_team = Vec::new();
        let mut from_party = Vec::new();
        for i in (index as u32..messages).step_by(parties.len()) {
            let body = format!(
                "Message {i}: the patch applies cleanly to our **2.3** branch; rollout planned for Thursday."
            );
            let side = if i % 2 == 0 {
                &mut from_party
            } else {
                &mut from_team
            };
            side.push(Event::PartyMessage {
                party: Some(party.clone()),
                body,
                from_party: i % 2 == 0,
                files: Vec::new(),
            });
        }
        for (events, actor) in [
            (from_party, Actor::Party(party.clone())),
            (from_team, Actor::User(user.id)),
        ] {
            if events.is_empty() {
                continue;
            }
            let (events, _) = cases::prepare(events, &actor, Timestamp::now())?;
            let head = store.head(case.id).await.map_err(env_err)?;
            store
                .append_events(case.id, head, events, None, Effects::default())
                .await
                .map_err(env_err)?;
        }
    }
    let portal = invited
        .portals
        .into_iter()
        .find(|(slug, _)| *slug == parties[0])
        .map(|(_, path)| path)
        .ok_or_else(|| env_err("the first party's portal link"))?;
    Ok(Seeded {
        case_id: case.id,
        portal,
    })
}

/// `rounds` GETs of `path` after a few to warm up: (mean ms, 95th percentile ms).
async fn time(
    addr: SocketAddr,
    path: &str,
    headers: &str,
    rounds: u32,
) -> Result<Timing, CliError> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n").into_bytes();
    let mut conn = connect(addr).await.map_err(env_err)?;
    let mut took = Vec::new();
    for round in 0..rounds + 3 {
        let started = Instant::now();
        let answer = exchange(&mut conn, &request).await.map_err(env_err)?;
        let elapsed = started.elapsed();
        if answer.status != 200 {
            return Err(env_err(format!("GET {path} answered {}", answer.status)));
        }
        if answer.close {
            conn = connect(addr).await.map_err(env_err)?;
        }
        if round >= 3 {
            took.push(elapsed);
        }
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = took.iter().map(|d| ms(*d)).sum::<f64>() / took.len().max(1) as f64;
    let p95 = took
        .get(((took.len() as f64) * 0.95) as usize)
        .or(took.last())
        .map_or(0.0, |d| ms(*d));
    Ok((mean, p95))
}

impl Figures {
    fn print(&self, args: &CoordinationArgs) {
        println!(
            "coordination on {}: a case with {} parties and {} thread messages, against a case with one party",
            self.backend, args.parties, args.messages
        );
        for (name, (big_mean, big_p95), (one_mean, one_p95)) in &self.pages {
            println!(
                "  {name:<16} {big_mean:7.2} ms mean, {big_p95:7.2} ms p95   (one party: {one_mean:6.2} ms mean, {one_p95:6.2} ms p95)   ratio {:.2}",
                big_mean / one_mean.max(f64::EPSILON)
            );
        }
    }

    fn json(&self, args: &CoordinationArgs) -> serde_json::Value {
        serde_json::json!({
            "backend": self.backend,
            "parties": args.parties,
            "messages": args.messages,
            "pages": self.pages.iter().map(|(name, big, one)| serde_json::json!({
                "page": name,
                "mean_ms": big.0,
                "p95_ms": big.1,
                "one_party_mean_ms": one.0,
                "one_party_p95_ms": one.1,
                "ratio": big.0 / one.0.max(f64::EPSILON),
            })).collect::<Vec<_>>(),
        })
    }
}
