//! `vulndesk bench intake`: reports taken per second by the JSON API, through the real
//! server and store with their durable settings, as a fraction of a baseline measured in
//! the same run: the same kind of database, equally durable, doing nothing but one-row
//! transactions. The baseline is the most commits per second these clients could get, so
//! the ratio says how much of it intake leaves on the table.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vulndesk_core::policy::Policy;
use vulndesk_store::{Backend, Store, StoreOptions, with_database};
use vulndesk_web::rate_limit::RateLimit;

use crate::CliError;
use crate::bench::POLICIES;
use crate::server_cmd::store_policy;

/// Run before the measured window, so connections, caches and the WAL are warm.
const WARM_UP: Duration = Duration::from_secs(1);
/// SalesTim's policy takes reports by API and needs no answers beyond the description.
const PRODUCT: &str = "salestim";
const REPORTS_PATH: &str = "/api/v1/reports";

/// `vulndesk bench intake`.
#[derive(clap::Args)]
pub struct IntakeArgs {
    /// postgres://USER@HOST:PORT/DB names the server: a database vulndesk_bench_<pid> is
    /// created there (through its `postgres` database) and dropped at the end.
    /// sqlite://FILE is used as it is and must hold no cases. Default: a temporary SQLite
    /// file.
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Concurrent clients, each on its own keep-alive connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    clients: u32,
    /// Length of the measured window, after one second of warm-up.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// End with one line of JSON holding the figures.
    #[arg(long)]
    json: bool,
}

fn env_err(e: impl std::fmt::Display) -> CliError {
    CliError::Environment(e.to_string())
}

pub fn run(args: IntakeArgs) -> Result<(), CliError> {
    crate::server_cmd::runtime()?.block_on(async move {
        let scratch = Scratch::create(args.db.as_deref()).await?;
        let measured = measure(&scratch, &args).await;
        scratch.remove().await;
        let figures = measured?;
        figures.print();
        if args.json {
            println!("{}", figures.json());
        }
        Ok(())
    })
}

/// Where the two runs write. Both are on the same disk or server with the same durability,
/// or the ratio would compare two machines.
pub(crate) enum Scratch {
    /// The server's database file, and a file of the baseline's own in the same directory.
    Sqlite {
        url: String,
        baseline: PathBuf,
        /// Made by the benchmark, so removed with everything in it.
        temp_dir: Option<PathBuf>,
    },
    /// One fresh database for both, its scratch table apart from the store's tables.
    Postgres {
        url: String,
        maintenance: String,
        name: String,
    },
}

impl Scratch {
    pub(crate) async fn create(db: Option<&str>) -> Result<Scratch, CliError> {
        let pid = std::process::id();
        match db {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let name = format!("vulndesk_bench_{pid}");
                let maintenance = with_database(url, "postgres");
                on_maintenance(&maintenance, format!("CREATE DATABASE {name}")).await?;
                Ok(Scratch::Postgres {
                    url: with_database(url, &name),
                    maintenance,
                    name,
                })
            }
            Some(url) if url.starts_with("sqlite:") => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| CliError::Usage(format!("--db: {e}")))?;
                let baseline = options
                    .get_filename()
                    .with_file_name(format!("vulndesk-bench-baseline-{pid}.db"));
                Ok(Scratch::Sqlite {
                    url: url.to_owned(),
                    baseline,
                    temp_dir: None,
                })
            }
            // The URL itself is not echoed: it may carry a password.
            Some(_) => Err(CliError::Usage(
                "--db: expected a sqlite:// or postgres:// URL".to_owned(),
            )),
            None => {
                let dir = std::env::temp_dir().join(format!("vulndesk-bench-intake-{pid}"));
                std::fs::create_dir_all(&dir).map_err(env_err)?;
                Ok(Scratch::Sqlite {
                    url: format!("sqlite://{}", dir.join("reports.db").display()),
                    baseline: dir.join("baseline.db"),
                    temp_dir: Some(dir),
                })
            }
        }
    }

    fn backend(&self) -> Backend {
        match self {
            Scratch::Sqlite { .. } => Backend::Sqlite,
            Scratch::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The server's database.
    pub(crate) fn url(&self) -> &str {
        match self {
            Scratch::Sqlite { url, .. } | Scratch::Postgres { url, .. } => url,
        }
    }

    fn baseline_url(&self) -> String {
        match self {
            Scratch::Sqlite { baseline, .. } => format!("sqlite://{}", baseline.display()),
            Scratch::Postgres { url, .. } => url.clone(),
        }
    }

    /// Best effort: what is left behind is named on stderr.
    pub(crate) async fn remove(self) {
        match self {
            Scratch::Sqlite {
                temp_dir: Some(dir),
                ..
            } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Scratch::Sqlite { baseline, .. } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = baseline.clone().into_os_string();
                    path.push(suffix);
                    let _ = std::fs::remove_file(path);
                }
            }
            Scratch::Postgres {
                maintenance, name, ..
            } => {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = on_maintenance(&maintenance, drop).await {
                    eprintln!("vulndesk: could not drop the benchmark's database {name}: {e}");
                }
            }
        }
    }
}

/// Runs `sql` in PostgreSQL's `postgres` database: a database cannot be created or dropped
/// from inside itself.
async fn on_maintenance(url: &str, sql: String) -> Result<(), CliError> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| env_err(format!("cannot reach PostgreSQL's postgres database: {e}")))?;
    let done = sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await;
    let _ = conn.close().await;
    done.map(|_| ()).map_err(env_err)
}

async fn measure(scratch: &Scratch, args: &IntakeArgs) -> Result<Figures, CliError> {
    let backend = scratch.backend();
    let (intake, intake_cpu) = {
        let store = open(scratch.url()).await?;
        let run = take_reports(&store, args).await;
        store.close().await;
        run?
    };
    let (baseline, baseline_cpu) = {
        let store = open(&scratch.baseline_url()).await?;
        let run = commit_rows(&store, args).await;
        store.close().await;
        run?
    };
    Ok(Figures {
        backend,
        clients: args.clients,
        seconds: args.seconds,
        intake,
        baseline,
        intake_cpu,
        baseline_cpu,
    })
}

/// The server's own settings: `StoreOptions::default()` is durable (SQLite synchronous=FULL
/// in WAL mode) with the server's pool size.
async fn open(url: &str) -> Result<Store, CliError> {
    let store = Store::connect(url, &StoreOptions::default())
        .await
        .map_err(|e| env_err(format!("cannot open the database: {e}")))?;
    store.migrate().await.map_err(env_err)?;
    Ok(store)
}

/// Loads the reference policies, serves the real router on a free loopback port, and has
/// the clients post reports to it; then checks that every report answered 201 was stored.
async fn take_reports(store: &Store, args: &IntakeArgs) -> Result<(Tally, Cpu), CliError> {
    if store.count_cases().await.map_err(env_err)? > 0 {
        return Err(CliError::Usage(
            "--db already holds cases: give an empty database".to_owned(),
        ));
    }
    for (name, source) in POLICIES {
        let policy = Policy::parse(name, source).map_err(|e| CliError::Invalid(e.to_string()))?;
        store_policy(store, &policy, source).await?;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| env_err(format!("cannot listen on the loopback interface: {e}")))?;
    let addr = listener.local_addr().map_err(env_err)?;
    // Every client comes from 127.0.0.1: the limiter still runs, as in production, but the
    // budget is out of reach.
    let state =
        vulndesk_web::AppState::new(store.clone()).with_rate_limit(RateLimit::per_minute(u32::MAX));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vulndesk_web::serve_until(listener, state, async {
        let _ = stopped.await;
    }));
    let reporters = (0..args.clients).map(|client| Reporter {
        addr,
        client,
        conn: None,
    });
    let (tally, cpu) = drive(
        reporters,
        Window::starting_now(args.seconds),
        store.backend(),
    )
    .await;
    let _ = stop.send(());
    server
        .await
        .map_err(env_err)?
        .map_err(|e| env_err(format!("the server failed: {e}")))?;
    let tally = tally?;
    if tally.failures > 0 {
        return Err(env_err(format!(
            "{} of {} reports were not answered 201; the first: {}",
            tally.failures,
            tally.failures + tally.done(),
            tally.first_failure.as_deref().unwrap_or("?")
        )));
    }
    let stored = store.count_cases().await.map_err(env_err)?;
    if u64::try_from(stored).ok() != Some(tally.done()) {
        return Err(env_err(format!(
            "{} reports were answered 201 but {stored} cases are stored",
            tally.done()
        )));
    }
    Ok((tally, cpu))
}

/// The baseline: the clients commit one small row per transaction instead of a report.
async fn commit_rows(store: &Store, args: &IntakeArgs) -> Result<(Tally, Cpu), CliError> {
    match store {
        Store::Sqlite(vulndesk_store::SqliteStore { pool, .. }) => {
            sqlx::query("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
                .execute(pool)
                .await
                .map(drop)
        }
        Store::Postgres(pool) => sqlx::query(
            "CREATE TABLE bench_baseline (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)",
        )
        .execute(pool)
        .await
        .map(drop),
    }
    .map_err(env_err)?;
    let committers = (0..args.clients).map(|client| Committer {
        store: store.clone(),
        client,
    });
    let (tally, cpu) = drive(
        committers,
        Window::starting_now(args.seconds),
        store.backend(),
    )
    .await;
    let tally = tally?;
    if tally.failures > 0 {
        return Err(env_err(format!(
            "{} baseline transactions failed; the first: {}",
            tally.failures,
            tally.first_failure.as_deref().unwrap_or("?")
        )));
    }
    Ok((tally, cpu))
}

/// A run's timeline: work finished before `from` is warm-up, by `until` measured, after
/// it the tail of requests already in flight.
#[derive(Clone, Copy)]
struct Window {
    from: Instant,
    until: Instant,
}

impl Window {
    fn starting_now(seconds: u64) -> Window {
        let from = Instant::now() + WARM_UP;
        Window {
            from,
            until: from + Duration::from_secs(seconds),
        }
    }
}

/// What one client does over and over until the window closes.
trait Load: Send + 'static {
    /// The client's `n`th request or transaction; `Err` says what went wrong.
    fn once(&mut self, n: u64) -> impl Future<Output = Result<(), String>> + Send;
}

/// What the clients of one run did.
#[derive(Default)]
struct Tally {
    warm_up: u64,
    measured: u64,
    tail: u64,
    failures: u64,
    first_failure: Option<String>,
    /// Of the measured ones, sorted once every client is done.
    latencies: Vec<Duration>,
}

impl Tally {
    /// Everything that succeeded, whenever.
    fn done(&self) -> u64 {
        self.warm_up + self.measured + self.tail
    }

    fn add(&mut self, other: Tally) {
        self.warm_up += other.warm_up;
        self.measured += other.measured;
        self.tail += other.tail;
        self.failures += other.failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.latencies.extend(other.latencies);
    }

    fn per_second(&self, seconds: u64) -> f64 {
        self.measured as f64 / seconds as f64
    }

    /// Nearest rank, in milliseconds.
    fn percentile_ms(&self, p: f64) -> Option<f64> {
        let rank = (p * self.latencies.len() as f64).ceil() as usize;
        let at = self.latencies.get(rank.max(1) - 1)?;
        Some(at.as_secs_f64() * 1e3)
    }
}

/// Runs every client on its own task over the window, and reads the CPU clocks at its
/// start and end.
async fn drive<L: Load>(
    clients: impl Iterator<Item = L>,
    window: Window,
    backend: Backend,
) -> (Result<Tally, CliError>, Cpu) {
    let tasks: Vec<_> = clients
        .map(|load| tokio::spawn(client(load, window)))
        .collect();
    let cpu = async {
        tokio::time::sleep_until(window.from.into()).await;
        let before = CpuClock::read(backend);
        tokio::time::sleep_until(window.until.into()).await;
        CpuClock::read(backend).since(&before)
    };
    let tallies = async {
        let mut total = Tally::default();
        for task in tasks {
            total.add(task.await.map_err(env_err)?);
        }
        total.latencies.sort_unstable();
        Ok(total)
    };
    tokio::join!(tallies, cpu)
}

async fn client<L: Load>(mut load: L, window: Window) -> Tally {
    let mut tally = Tally::default();
    let mut n = 0;
    while Instant::now() < window.until {
        let started = Instant::now();
        let result = load.once(n).await;
        let finished = Instant::now();
        n += 1;
        match result {
            Ok(()) if finished < window.from => tally.warm_up += 1,
            Ok(()) if finished <= window.until => {
                tally.measured += 1;
                tally.latencies.push(finished - started);
            }
            Ok(()) => tally.tail += 1,
            Err(e) => {
                tally.failures += 1;
                tally.first_failure.get_or_insert(e);
            }
        }
    }
    tally
}

/// A reporter's client: one keep-alive HTTP/1.1 connection, written by hand so that the
/// load costs next to nothing beside the server it shares the machine with.
struct Reporter {
    addr: SocketAddr,
    client: u32,
    conn: Option<BufReader<TcpStream>>,
}

impl Load for Reporter {
    async fn once(&mut self, n: u64) -> Result<(), String> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => connect(self.addr)
                .await
                .map_err(|e| format!("connecting to the server: {e}"))?,
        };
        let answer = exchange(&mut conn, &self.request(n))
            .await
            .map_err(|e| format!("POST {REPORTS_PATH}: {e}"))?;
        if !answer.close {
            self.conn = Some(conn);
        }
        match answer.status {
            201 => Ok(()),
            status => Err(format!(
                "POST {REPORTS_PATH}: HTTP {status}: {}",
                String::from_utf8_lossy(&answer.body)
            )),
        }
    }
}

impl Reporter {
    fn request(&self, n: u64) -> Vec<u8> {
        let body = serde_json::json!({
            "product": PRODUCT,
            "title": format!("bench report {}-{n}", self.client),
            "description": "Steps: send the crafted request below. Impact: remote crash.",
            "reporter_contact": "mailto:finder@example.org",
        })
        .to_string();
        format!(
            "POST {REPORTS_PATH} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .into_bytes()
    }
}

pub(crate) async fn connect(addr: SocketAddr) -> std::io::Result<BufReader<TcpStream>> {
    let stream = TcpStream::connect(addr).await?;
    // A request is one write; without this, Nagle's algorithm can hold it back until the
    // previous answer's delayed ACK.
    stream.set_nodelay(true)?;
    Ok(BufReader::new(stream))
}

/// An HTTP answer, as much of it as the benchmark reads.
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// The server will close the connection after this answer.
    pub(crate) close: bool,
    pub(crate) body: Vec<u8>,
}

/// Writes `request` and reads the answer: status line, headers, and a body of
/// `Content-Length` bytes (the server answers JSON with a length, never chunked).
pub(crate) async fn exchange(
    conn: &mut BufReader<TcpStream>,
    request: &[u8],
) -> std::io::Result<Answer> {
    use std::io::{Error, ErrorKind};
    conn.get_mut().write_all(request).await?;
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Err(Error::new(
            ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, format!("status line {line:?}")))?;
    let (mut length, mut close) = (0, false);
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(Error::new(ErrorKind::UnexpectedEof, "headers cut short"));
        }
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().map_err(|_| {
                Error::new(ErrorKind::InvalidData, format!("Content-Length {value:?}"))
            })?;
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("Transfer-Encoding {value:?} is not read"),
            ));
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await?;
    Ok(Answer {
        status,
        close,
        body,
    })
}

/// One task of the baseline.
struct Committer {
    store: Store,
    client: u32,
}

impl Load for Committer {
    async fn once(&mut self, n: u64) -> Result<(), String> {
        const INSERT: &str = "INSERT INTO bench_baseline (body) VALUES ($1)";
        let body = format!("{}-{n}", self.client);
        // Write transactions begun the way the store begins them (store's `begin_write`).
        let committed = match &self.store {
            Store::Sqlite(vulndesk_store::SqliteStore { pool, .. }) => {
                async {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    sqlx::query(INSERT).bind(body).execute(&mut *tx).await?;
                    tx.commit().await
                }
                .await
            }
            Store::Postgres(pool) => {
                async {
                    let mut tx = pool.begin().await?;
                    sqlx::query(INSERT).bind(body).execute(&mut *tx).await?;
                    tx.commit().await
                }
                .await
            }
        };
        committed.map_err(|e| format!("baseline transaction: {e}"))
    }
}

/// CPU time used so far, in clock ticks (utime + stime, fields 14 and 15 of
/// /proc/PID/stat): this process's (server and clients alike), and every PostgreSQL
/// process's when PostgreSQL is measured.
struct CpuClock {
    own: Option<u64>,
    postgres: Option<u64>,
}

/// CPU time spent over a window, in milliseconds; `None` where /proc could not tell.
#[derive(Clone, Copy)]
struct Cpu {
    own_ms: Option<f64>,
    postgres_ms: Option<f64>,
}

impl CpuClock {
    fn read(backend: Backend) -> CpuClock {
        CpuClock {
            own: std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|stat| cpu_ticks(&stat)),
            postgres: (backend == Backend::Postgres)
                .then(postgres_ticks)
                .flatten(),
        }
    }

    fn since(&self, before: &CpuClock) -> Cpu {
        let ms_per_tick = 1e3 / ticks_per_second();
        let spent = |after: Option<u64>, before: Option<u64>| {
            Some(after?.saturating_sub(before?) as f64 * ms_per_tick)
        };
        Cpu {
            own_ms: spent(self.own, before.own),
            postgres_ms: spent(self.postgres, before.postgres),
        }
    }
}

/// utime + stime of one /proc/PID/stat line. The command name (field 2) is in parentheses
/// and may hold spaces and parentheses itself, so fields are counted from the last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let mut after_name = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = after_name.nth(11)?.parse().ok()?;
    let stime: u64 = after_name.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The summed CPU ticks of every process named `postgres` (the postmaster, its backends
/// and background workers); `None` when there is none on this machine.
fn postgres_ticks() -> Option<u64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let dir = entry.path();
        // Processes come and go while /proc is read: one gone is skipped.
        let is_postgres = std::fs::read_to_string(dir.join("comm"))
            .is_ok_and(|comm| comm.trim_end() == "postgres");
        if let Some(ticks) = is_postgres
            .then(|| std::fs::read_to_string(dir.join("stat")).ok())
            .flatten()
            .and_then(|stat| cpu_ticks(&stat))
        {
            *total.get_or_insert(0) += ticks;
        }
    }
    total
}

/// `getconf CLK_TCK`: the unit of /proc's CPU times, 100 on Linux when it cannot be asked.
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

struct Figures {
    backend: Backend,
    clients: u32,
    seconds: u64,
    intake: Tally,
    baseline: Tally,
    intake_cpu: Cpu,
    baseline_cpu: Cpu,
}

impl Figures {
    fn db(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    fn rps(&self) -> f64 {
        self.intake.per_second(self.seconds)
    }

    fn baseline_rps(&self) -> f64 {
        self.baseline.per_second(self.seconds)
    }

    fn ratio(&self) -> Option<f64> {
        let baseline = self.baseline_rps();
        (baseline > 0.0).then(|| self.rps() / baseline)
    }

    fn per_report(&self, ms: Option<f64>) -> Option<f64> {
        ms.filter(|_| self.intake.measured > 0)
            .map(|ms| ms / self.intake.measured as f64)
    }

    fn per_commit(&self, ms: Option<f64>) -> Option<f64> {
        ms.filter(|_| self.baseline.measured > 0)
            .map(|ms| ms / self.baseline.measured as f64)
    }

    fn print(&self) {
        let settings = match self.backend {
            Backend::Sqlite => " (WAL, synchronous=FULL)",
            Backend::Postgres => "",
        };
        println!(
            "bench intake: {}{settings}, {} clients, {} s measured after {} s of warm-up",
            self.db(),
            self.clients,
            self.seconds,
            WARM_UP.as_secs()
        );
        println!(
            "{:<36} {:>10} {:>10} {:>10}",
            "", "per s", "p50 ms", "p99 ms"
        );
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
        for (name, tally) in [
            ("reports, POST /api/v1/reports", &self.intake),
            ("baseline, one-row transactions", &self.baseline),
        ] {
            println!(
                "{:<36} {:>10.1} {:>10} {:>10}",
                name,
                tally.per_second(self.seconds),
                ms(tally.percentile_ms(0.50)),
                ms(tally.percentile_ms(0.99))
            );
        }
        println!(
            "reports / baseline: {}",
            self.ratio()
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"))
        );
        println!(
            "{} reports measured, {} in all: every one answered 201 and stored",
            self.intake.measured,
            self.intake.done()
        );
        println!(
            "CPU per report: {} ms in this process (server and clients)",
            ms(self.per_report(self.intake_cpu.own_ms))
        );
        if self.backend == Backend::Postgres {
            println!(
                "PostgreSQL CPU: {} ms per report, {} ms per baseline transaction",
                ms(self.per_report(self.intake_cpu.postgres_ms)),
                ms(self.per_commit(self.baseline_cpu.postgres_ms))
            );
        }
    }

    fn json(&self) -> serde_json::Value {
        let mut figures = serde_json::json!({
            "db": self.db(),
            "clients": self.clients,
            "seconds": self.seconds,
            "reports": self.intake.measured,
            "warm_up_reports": self.intake.warm_up,
            "rps": self.rps(),
            "baseline_rps": self.baseline_rps(),
            "ratio": self.ratio(),
            "p50_ms": self.intake.percentile_ms(0.50),
            "p99_ms": self.intake.percentile_ms(0.99),
            "baseline_p50_ms": self.baseline.percentile_ms(0.50),
            "baseline_p99_ms": self.baseline.percentile_ms(0.99),
            "cpu_ms_per_report": self.per_report(self.intake_cpu.own_ms),
        });
        if self.backend == Backend::Postgres {
            figures["pg_cpu_ms_per_report"] = self.per_report(self.intake_cpu.postgres_ms).into();
            figures["baseline_pg_cpu_ms_per_commit"] =
                self.per_commit(self.baseline_cpu.postgres_ms).into();
        }
        figures
    }
}
