//! Starting the real `vulndesk` binary against fresh databases, and talking to it.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use vulndesk_store::testing::{drop_postgres_database, fresh_databases};
use vulndesk_store::{Store, StoreOptions};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vulndesk");

/// Longest wait for the server to migrate, load the demo and print its address.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// One fresh database: `label` is `sqlite` or `postgres`.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub label: String,
    pub url: String,
}

/// Runs `test` on a fresh SQLite file and on a fresh PostgreSQL database (if PostgreSQL is
/// reachable; under CI=true it must be). The PostgreSQL database is dropped afterwards.
pub async fn on_each_database<F, Fut>(mut test: F)
where
    F: FnMut(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    for (label, url) in fresh_databases().await {
        // libtest shows this with a failure, so the backend that failed is known.
        eprintln!("--- on {label}");
        test(TestDb {
            label: label.clone(),
            url: url.clone(),
        })
        .await;
        if label == "postgres" {
            drop_postgres_database(&url).await;
        }
    }
}

/// The test's own small connection to `db`, to look behind the binary's back.
pub async fn test_store(db: &TestDb) -> Store {
    Store::connect(
        &db.url,
        &StoreOptions {
            max_connections: 2,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("test connection to {}: {e}", db.label))
}

/// A running `vulndesk serve --demo` and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    pub client: reqwest::Client,
    /// The same database, opened by the test to look behind the API.
    pub store: Store,
    pub db: TestDb,
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

/// The server's rate limit setting (see `vulndesk_web::rate_limit`).
pub const RATE_LIMIT_ENV: &str = "VULNDESK_RATE_LIMIT";

/// Starts the binary on `db` with the demo data, on a free loopback port. Rate limiting is
/// off: tests send far more submissions than a person would (`abuse.rs` turns it on).
pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn_app_with(db, &[(RATE_LIMIT_ENV, "off")]).await
}

/// [`spawn_app`] with these environment variables, and none of the server's settings
/// inherited from the test's environment.
pub async fn spawn_app_with(db: &TestDb, env: &[(&str, &str)]) -> TestApp {
    // The demo team would get every reminder and notice the tests count.
    spawn_serve(db, &["--demo", "--no-demo-accounts"], env).await
}

/// `vulndesk serve` with `args` (besides the address and database) and `env`.
pub async fn spawn_serve(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> TestApp {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--db", &db.url])
        .args(args)
        .env("VULNDESK_LOG", "info,sqlx=warn")
        .env_remove("VULNDESK_DB")
        .env_remove(RATE_LIMIT_ENV)
        .envs(env.iter().copied());
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the vulndesk binary");
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let address = tokio::time::timeout(STARTUP_TIMEOUT, async {
        loop {
            let line = stdout
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned));
            if let Some(address) = line {
                return Some(address);
            }
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| {
        panic!(
            "vulndesk serve on {} did not start; stderr:\n{}",
            db.label,
            stderr.lock().unwrap().join("\n")
        )
    });
    let store = test_store(db).await;
    TestApp {
        address,
        client: client(),
        store,
        db: db.clone(),
        child,
        stderr,
        stdout,
    }
}

/// Collects a child's output lines in the background, so the pipe never fills up and the
/// lines can be shown when something fails.
fn drain(stream: impl AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Plain HTTP on loopback only: no proxy from the environment, bounded waits, redirects
/// not followed (tests check them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// A valid report body for `product`.
pub fn report(product: &str, title: &str) -> Value {
    serde_json::json!({
        "product": product,
        "title": title,
        "description": "Steps: send the crafted request below. Impact: remote crash.",
        "reporter_contact": "mailto:finder@example.org",
    })
}

impl TestApp {
    /// What the server printed on standard output so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// `address` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `POST /api/v1/reports` with a JSON body.
    pub async fn post_report(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/reports"))
            .json(body)
            .send()
            .await
            .expect("POST /api/v1/reports")
    }

    /// `POST /api/v1/reports` that must succeed; returns `(id, token)`.
    pub async fn create_report(&self, body: &Value) -> (i64, String) {
        let response = self.post_report(body).await;
        assert_eq!(response.status().as_u16(), 201, "on {}", self.db.label);
        let created: Value = response.json().await.expect("JSON body");
        let id = created["id"].as_i64().expect("id");
        let token = created["token"].as_str().expect("token").to_owned();
        (id, token)
    }

    /// `GET /api/v1/reports/{id}`, with `Authorization: Bearer <token>` if a token is given.
    pub async fn get_report(&self, id: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(&format!("/api/v1/reports/{id}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("GET /api/v1/reports/{id}")
    }

    /// `GET` of a path of the server.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `POST` of a multipart form, as a browser sends one.
    pub async fn post_form(&self, path: &str, form: reqwest::multipart::Form) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Number of cases in the database.
    pub async fn count_cases(&self) -> i64 {
        self.store.count_cases().await.expect("count cases")
    }

    /// SIGKILL: no shutdown, no flushing, as in a crash or the OOM killer.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill the server");
        self.store.close().await;
    }

    /// SIGTERM, as a service manager stops the server; returns its exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("server still running").to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().await;
        assert!(sent.expect("run kill").success(), "kill -TERM {pid}");
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("server exits within 30 s of SIGTERM")
            .expect("wait for the server");
        self.store.close().await;
        status
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

/// A policy file in a fresh temporary directory.
pub fn temp_policy(name: &str, source: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vulndesk-it-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("create temporary directory");
    let path = dir.join(name);
    std::fs::write(&path, source).expect("write policy file");
    path
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Runs `vulndesk init --db URL --policy FILE...`; returns (exit code, stdout, stderr).
pub async fn run_init(db: &TestDb, policies: &[&Path]) -> (i32, String, String) {
    let mut command = Command::new(BIN);
    command
        .args(["init", "--db", &db.url])
        .env_remove("VULNDESK_DB");
    for p in policies {
        command.arg("--policy").arg(p);
    }
    let output = tokio::time::timeout(STARTUP_TIMEOUT, command.output())
        .await
        .expect("vulndesk init finishes")
        .expect("run vulndesk init");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The reference policy source `name` (e.g. `freepbx`) from the repository.
pub fn reference_policy(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(format!("{name}.toml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
