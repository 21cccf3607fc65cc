//! SQLite's case writes go through one task that owns one connection and commits the writes
//! queued while the previous commit was running as one group: one `BEGIN IMMEDIATE … COMMIT`
//! and one fsync for the whole group, each write's statements in a savepoint of their own
//! (opened and released in the same round trip as the statements, see [`Tx::run`]) so a
//! write that fails (a stale head, a duplicate mail) leaves the others in. A caller is
//! answered only after the COMMIT that covers its write.
//!
//! Why: SQLite has one write lock. Connections that want it while another holds it do not
//! queue, they sleep in the busy handler and retry, so writers spent most of their time
//! asleep while the lock was free, and each paid its own fsync. A queue in front of one
//! connection turns that wait into batching.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::FutureExt;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::batch::Batch;

/// Most writes committed together; bounds how long the first of them waits for the last.
const GROUP: usize = 64;
/// Writes waiting beyond this make their callers wait to enqueue.
const QUEUE: usize = 1024;

type Run<'c> = Pin<Box<dyn Future<Output = Done> + Send + 'c>>;
type Body = Box<dyn for<'c> FnOnce(&'c mut Tx) -> Run<'c> + Send>;

/// The writer's connection as one write sees it, inside the group's transaction: reads on
/// [`Tx::conn`], writes through [`Tx::run`].
pub(crate) struct Tx {
    conn: SqliteConnection,
    /// A write's savepoint is open: its batch failed part-way and must be rolled back.
    open: bool,
    /// The id the next case opened in this group gets, once read. Only this writer opens
    /// cases while it holds the write lock, so it is read once per group: other processes
    /// (a mail ingest) may open cases between groups.
    next_case: Option<i64>,
}

impl Tx {
    /// The connection, for reads.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// The id for a case opened now.
    pub(crate) async fn next_case_id(&mut self) -> Result<i64, sqlx::Error> {
        if let Some(id) = self.next_case {
            return Ok(id);
        }
        let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM cases")
            .fetch_one(&mut self.conn)
            .await?;
        self.next_case = Some(id);
        Ok(id)
    }

    /// Case `id` was opened: the next one gets the id after it.
    pub(crate) fn case_opened(&mut self, id: i64) {
        self.next_case = Some(id + 1);
    }

    /// Runs `batch` in a savepoint of its own, opened and released in the batch's round trip.
    /// It is a write's last step: once it returned `Ok` the write stands with its group.
    pub(crate) async fn run(&mut self, batch: Batch) -> Result<(), sqlx::Error> {
        self.open = true;
        batch
            .between("SAVEPOINT w", "RELEASE w")
            .run_sqlite(&mut self.conn)
            .await?;
        self.open = false;
        Ok(())
    }
}

/// A write that ran inside the group's transaction, waiting for the COMMIT.
struct Done {
    /// Answers the caller: with its own result, or with the error that undid the group.
    answer: Box<dyn FnOnce(Option<StoreError>) + Send>,
}

enum Msg {
    Write(Body),
    Close(oneshot::Sender<()>),
}

/// A handle to the writer task; cheap to clone.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Msg>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Writer")
    }
}

fn gone() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

impl Writer {
    /// Opens the writer's own connection with `options` and starts its task on the current
    /// Tokio runtime.
    pub(crate) async fn start(options: SqliteConnectOptions) -> Result<Writer, StoreError> {
        let conn = options.connect().await?;
        let (queue, rx) = mpsc::channel(QUEUE);
        let tx = Tx {
            conn,
            open: false,
            next_case: None,
        };
        tokio::spawn(run(tx, rx));
        Ok(Writer { queue })
    }

    /// Runs `body` inside the next group's transaction and returns its result once that
    /// transaction has committed. If `body` fails, what it wrote is rolled back and the
    /// error returned; if the group fails to commit, every write in it gets that error.
    pub(crate) async fn write<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut Tx,
            )
                -> Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>
            + Send
            + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Body = Box::new(move |conn| {
            Box::pin(async move {
                let result = body(conn).await;
                Done {
                    answer: Box::new(move |undone: Option<StoreError>| {
                        let answer = match undone {
                            Some(e) if result.is_ok() => Err(e),
                            _ => result,
                        };
                        // A caller that stopped waiting needs no answer.
                        let _ = tx.send(answer);
                    }),
                }
            })
        });
        self.queue.send(Msg::Write(job)).await.map_err(|_| gone())?;
        // A write dropped unrun (its group's transaction broke before its turn) was not
        // committed: the dropped sender says so.
        rx.await.map_err(|_| gone())?
    }

    /// Commits what is queued, then closes the connection; later writes fail.
    pub(crate) async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.queue.send(Msg::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn run(mut tx: Tx, mut queue: mpsc::Receiver<Msg>) {
    let mut group = Vec::with_capacity(GROUP);
    while let Some(first) = queue.recv().await {
        let mut close = None;
        match first {
            Msg::Write(body) => group.push(body),
            Msg::Close(ack) => close = Some(ack),
        }
        // Everything that queued while the last group committed joins this one.
        while close.is_none() && group.len() < GROUP {
            match queue.try_recv() {
                Ok(Msg::Write(body)) => group.push(body),
                Ok(Msg::Close(ack)) => close = Some(ack),
                Err(_) => break,
            }
        }
        if !group.is_empty() {
            commit_group(&mut tx, &mut group).await;
        }
        if let Some(ack) = close {
            queue.close();
            let _ = tx.conn.close().await;
            let _ = ack.send(());
            return;
        }
    }
}

async fn commit_group(tx: &mut Tx, group: &mut Vec<Body>) {
    tx.next_case = None;
    if let Err(e) = tx.conn.execute("BEGIN IMMEDIATE").await {
        let message = e.to_string();
        tracing::error!(error = %message, "the case writer could not begin a transaction");
        let _ = tx.conn.execute("ROLLBACK").await;
        // Dropping the writes unrun answers each caller that nothing was written.
        group.clear();
        return;
    }
    let mut done: Vec<Done> = Vec::with_capacity(group.len());
    let mut broken = None;
    for body in group.drain(..) {
        if broken.is_some() {
            // Dropped unrun: its caller learns it was not written.
            continue;
        }
        tx.open = false;
        // A write that panics is a failed write, not a dead writer: the task must go on
        // serving every write after it. Its caller learns it was not written (its answer is
        // dropped).
        let d = AssertUnwindSafe(body(tx)).catch_unwind().await;
        if d.is_err() {
            tracing::error!("a case write panicked; it was rolled back");
        }
        // SQLite undoes the whole transaction on some errors (I/O, full disk): the savepoint
        // is then gone and nothing of the group stands.
        if tx.open
            && let Err(e) = tx.conn.execute("ROLLBACK TO w; RELEASE w").await
        {
            broken = Some(StoreError::from(e));
        }
        if let Ok(d) = d {
            done.push(d);
        }
    }
    if broken.is_none()
        && let Err(e) = tx.conn.execute("COMMIT").await
    {
        broken = Some(StoreError::from(e));
    }
    if let Some(e) = &broken {
        let _ = tx.conn.execute("ROLLBACK").await;
        tracing::error!(error = %e, writes = done.len(), "a group of case writes was rolled back");
    }
    for d in done {
        (d.answer)(broken.as_ref().map(group_error));
    }
}

/// `StoreError` holds a `sqlx::Error`, which is not `Clone`; every write of a failed group
/// gets the same message.
fn group_error(e: &StoreError) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!(
        "the group of writes this one was committed with failed: {e}"
    )))
}
