//! A write of several statements sent to the database in one round trip.
//!
//! A case write touches up to a dozen tables (events, projection, mail, jobs, search, ...).
//! Sent one statement at a time, each is a round trip: on SQLite a hand-over to the
//! connection's worker thread and back, on PostgreSQL a network exchange and the executor's
//! start-up, which together cost more than the inserts themselves. A [`Batch`] collects the
//! statements with their parameters numbered across all of them (`$1`, `$2`, ...) and sends
//! them as one query: SQLite runs a query of several statements, binding each `$n` by its
//! number; PostgreSQL takes one statement per query, so the statements become data-modifying
//! CTEs of one statement, which all run, see one snapshot and have their foreign keys
//! checked at the statement's end. Two statements of one batch must therefore never write
//! the same row.

use sqlx::{AssertSqlSafe, PgExecutor, SqliteExecutor};

use crate::{StoreError, constraint};

/// One parameter value.
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
    Bool(bool),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        Arg::Int(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(Some(v))
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        Arg::Text(v)
    }
}

impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Arg {
        Arg::Blob(Some(v))
    }
}

impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::Bool(v)
    }
}

/// `sql` as a query with `args` bound in order, for either backend.
macro_rules! bound {
    ($sql:expr, $args:expr) => {{
        let mut query = sqlx::query(AssertSqlSafe($sql));
        for arg in $args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::Blob(v) => query.bind(v),
                Arg::Bool(v) => query.bind(v),
            };
        }
        query
    }};
}

/// Statements and their parameters, in order.
#[derive(Default)]
pub(crate) struct Batch {
    statements: Vec<String>,
    args: Vec<Arg>,
}

impl Batch {
    /// Adds a parameter; returns its placeholder for the statement being written.
    pub(crate) fn arg(&mut self, value: impl Into<Arg>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// Adds a statement whose placeholders came from [`Batch::arg`].
    pub(crate) fn push(&mut self, statement: String) {
        self.statements.push(statement);
    }

    /// A multi-row `INSERT INTO {table} ({columns}) VALUES (...), (...) {tail}`, one tuple
    /// per item as `row` writes it; nothing for no items.
    pub(crate) fn insert_rows<T>(
        &mut self,
        table: &str,
        columns: &str,
        items: impl IntoIterator<Item = T>,
        tail: &str,
        mut row: impl FnMut(&mut Batch, T) -> String,
    ) {
        let tuples: Vec<String> = items
            .into_iter()
            .map(|item| format!("({})", row(self, item)))
            .collect();
        if !tuples.is_empty() {
            self.push(format!(
                "INSERT INTO {table} ({columns}) VALUES {} {tail}",
                tuples.join(", ")
            ));
        }
    }

    /// The same batch between two statements without parameters.
    pub(crate) fn between(mut self, first: &str, last: &str) -> Batch {
        self.statements.insert(0, first.to_owned());
        self.statements.push(last.to_owned());
        self
    }

    /// Runs the batch on SQLite.
    pub(crate) async fn run_sqlite<'c>(
        self,
        e: impl SqliteExecutor<'c>,
    ) -> Result<(), sqlx::Error> {
        if self.statements.is_empty() {
            return Ok(());
        }
        let sql = self.statements.join(";\n");
        bound!(sql, self.args).execute(e).await.map(drop)
    }

    /// Runs the batch on PostgreSQL.
    pub(crate) async fn run_postgres<'c>(self, e: impl PgExecutor<'c>) -> Result<(), sqlx::Error> {
        let sql = match self.statements.len() {
            0 => return Ok(()),
            1 => self.statements.concat(),
            _ => {
                let ctes: Vec<String> = self
                    .statements
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("w{i} AS ({s})"))
                    .collect();
                format!("WITH {} SELECT 1", ctes.join(", "))
            }
        };
        bound!(sql, self.args).execute(e).await.map(drop)
    }
}

/// The store's error for a failed case write: a raw message stored before (named `raw`)
/// is [`StoreError::Duplicate`], other constraint violations as [`constraint`] says.
pub(crate) fn write_error(e: sqlx::Error, raw: Option<&str>) -> StoreError {
    let duplicate_mail = e.as_database_error().is_some_and(|d| {
        d.is_unique_violation()
            && (d.table() == Some("raw_messages") || d.message().contains("raw_messages."))
    });
    match raw {
        Some(name) if duplicate_mail => StoreError::Duplicate(name.to_owned()),
        _ => constraint(e, "case"),
    }
}
