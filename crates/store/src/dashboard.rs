//! The team's view of cases: the dashboard listing with its filters and full-text search,
//! and two lookups about one case: the organisation it belongs to (which decides who may see
//! it) and the cases declined as its duplicates.

use jiff::Timestamp;

use crate::cases::RawProjection;
use crate::{Projection, Store, StoreError, parse_ts};

/// Which cases the dashboard lists; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// The cases the person may see: `None` for everything (an admin); otherwise the cases
    /// of these organisations and these case ids.
    pub visible: Option<Visible>,
    pub org_id: Option<i64>,
    pub product_id: Option<i64>,
    pub states: Vec<String>,
    pub severity: Option<String>,
    /// SSVC decisions (`act`, `attend`, ...); any of them.
    pub ssvc: Vec<String>,
    pub officer_id: Option<i64>,
    /// Words that must all occur in the case's title, description or messages.
    pub text: Option<String>,
    /// Whether internal notes are searched too.
    pub search_internal: bool,
    /// Only cases whose next deadline is on or before this day.
    pub due_by: Option<jiff::civil::Date>,
    pub limit: i64,
    /// Rows of the order to skip (for later pages).
    pub offset: i64,
}

/// The cases a person may see.
#[derive(Debug, Clone, Default)]
pub struct Visible {
    pub org_ids: Vec<i64>,
    pub case_ids: Vec<i64>,
    /// Organisations whose internal notes the person may search (their team, not their
    /// reviewers).
    pub note_org_ids: Vec<i64>,
}

/// One dashboard row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseListing {
    pub id: i64,
    pub org_id: i64,
    pub org_slug: String,
    pub product_id: i64,
    pub product_slug: String,
    pub opened_at: Timestamp,
    /// The policy version the case is pinned to.
    pub policy_version_id: i64,
    pub projection: Projection,
}

#[derive(sqlx::FromRow)]
struct RawListing {
    id: i64,
    org_id: i64,
    org_slug: String,
    product_id: i64,
    product_slug: String,
    opened_at: String,
    policy_version_id: i64,
    #[sqlx(flatten)]
    projection: RawProjection,
}

impl RawListing {
    fn decode(self) -> Result<CaseListing, StoreError> {
        Ok(CaseListing {
            id: self.id,
            org_id: self.org_id,
            org_slug: self.org_slug,
            product_id: self.product_id,
            product_slug: self.product_slug,
            opened_at: parse_ts(&self.opened_at)?,
            policy_version_id: self.policy_version_id,
            projection: self.projection.decode()?,
        })
    }
}

/// Words for a full-text query, each quoted so that nothing a person types is read as
/// FTS5 query syntax.
fn fts5_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl Store {
    /// Cases declined as duplicates of `case_id` (see [`Effects::duplicate_of`]). The
    /// caller checks each log: a later reopen undoes the decline.
    ///
    /// [`Effects::duplicate_of`]: crate::Effects::duplicate_of
    pub async fn declared_duplicates(&self, case_id: i64) -> Result<Vec<i64>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar(
            "SELECT case_id FROM case_duplicates WHERE duplicate_of = $1 ORDER BY case_id",
        )
        .bind(case_id)
        .fetch_all(p)
        .await?))
    }

    /// The organisation a case belongs to (through its product).
    pub async fn case_org(&self, case_id: i64) -> Result<Option<i64>, StoreError> {
        on_pool!(self, p => Ok(sqlx::query_scalar(
            "SELECT p.org_id FROM cases c JOIN products p ON p.id = c.product_id WHERE c.id = $1",
        )
        .bind(case_id)
        .fetch_optional(p)
        .await?))
    }

    /// The dashboard: cases matching `q`, soonest deadline first (cases without one last),
    /// then newest.
    pub async fn list_cases(&self, q: &CaseQuery) -> Result<Vec<CaseListing>, StoreError> {
        let mut sql = String::from(concat!(
            "SELECT c.id, p.org_id, o.slug AS org_slug, c.product_id, p.slug AS product_slug, ",
            "c.opened_at, c.policy_version_id, cp.state, cp.next_due, cp.next_due_kind, cp.title, ",
            "cp.severity, cp.cvss, cp.officer_id, cp.ssvc, cp.escalated FROM cases c ",
            "JOIN products p ON p.id = c.product_id ",
            "JOIN organisations o ON o.id = p.org_id ",
            "JOIN case_projections cp ON cp.case_id = c.id WHERE 1 = 1"
        ));
        // Every value is a bound parameter; only placeholders are formatted into the text.
        let mut placeholders = Placeholders::default();
        if let Some(v) = &q.visible {
            sql.push_str(" AND (p.org_id IN (");
            placeholders.ints(&mut sql, &v.org_ids);
            sql.push_str(") OR c.id IN (");
            placeholders.ints(&mut sql, &v.case_ids);
            sql.push_str("))");
        }
        if let Some(org) = q.org_id {
            sql.push_str(" AND p.org_id = ");
            placeholders.int(&mut sql, org);
        }
        if let Some(product) = q.product_id {
            sql.push_str(" AND c.product_id = ");
            placeholders.int(&mut sql, product);
        }
        if !q.states.is_empty() {
            sql.push_str(" AND cp.state IN (");
            placeholders.texts(&mut sql, &q.states);
            sql.push(')');
        }
        if let Some(severity) = &q.severity {
            sql.push_str(" AND cp.severity = ");
            placeholders.text(&mut sql, severity);
        }
        if !q.ssvc.is_empty() {
            sql.push_str(" AND cp.ssvc IN (");
            placeholders.texts(&mut sql, &q.ssvc);
            sql.push(')');
        }
        if let Some(day) = q.due_by {
            sql.push_str(" AND cp.next_due <= ");
            placeholders.text(&mut sql, &day.to_string());
        }
        if let Some(officer) = q.officer_id {
            sql.push_str(" AND cp.officer_id = ");
            placeholders.int(&mut sql, officer);
        }
        if let Some(text) = q.text.as_deref() {
            let query = match self {
                Store::Sqlite(_) => match fts5_query(text) {
                    Some(fts) => fts,
                    None => return Ok(Vec::new()),
                },
                Store::Postgres(_) => text.to_owned(),
            };
            // `c.id IN (<the cases whose text matches>)`, uncorrelated with the outer row so
            // that the full-text index is searched once, not once per case.
            let matching =
                |sql: &mut String, placeholders: &mut Placeholders, shared_only: bool| {
                    sql.push_str("c.id IN (SELECT s.case_id FROM case_search s WHERE ");
                    match self {
                        Store::Sqlite(_) => sql.push_str("s.body MATCH "),
                        Store::Postgres(_) => sql.push_str("s.doc @@ plainto_tsquery('simple', "),
                    }
                    placeholders.text(sql, &query);
                    if matches!(self, Store::Postgres(_)) {
                        sql.push(')');
                    }
                    if shared_only {
                        sql.push_str(match self {
                            Store::Sqlite(_) => " AND s.internal = 0",
                            Store::Postgres(_) => " AND NOT s.internal",
                        });
                    }
                    sql.push(')');
                };
            match (&q.visible, q.search_internal) {
                (_, false) => {
                    sql.push_str(" AND ");
                    matching(&mut sql, &mut placeholders, true);
                }
                (None, true) => {
                    sql.push_str(" AND ");
                    matching(&mut sql, &mut placeholders, false);
                }
                (Some(v), true) => {
                    // Shared text anywhere the person can see; notes only where they are
                    // on the team.
                    sql.push_str(" AND (");
                    matching(&mut sql, &mut placeholders, true);
                    sql.push_str(" OR (p.org_id IN (");
                    placeholders.ints(&mut sql, &v.note_org_ids);
                    sql.push_str(") AND ");
                    matching(&mut sql, &mut placeholders, false);
                    sql.push_str("))");
                }
            }
        }
        sql.push_str(
            " ORDER BY cp.next_due IS NULL, cp.next_due, c.opened_at DESC, c.id DESC LIMIT ",
        );
        placeholders.int(&mut sql, q.limit.max(1));
        sql.push_str(" OFFSET ");
        placeholders.int(&mut sql, q.offset.max(0));
        let rows: Vec<RawListing> = on_pool!(self, p => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for value in &placeholders.values {
                query = match value {
                    Value::Int(v) => query.bind(*v),
                    Value::Text(v) => query.bind(v.clone()),
                };
            }
            query.fetch_all(p).await?
        });
        rows.into_iter().map(RawListing::decode).collect()
    }
}

enum Value {
    Int(i64),
    Text(String),
}

/// Numbered placeholders and the values bound to them, in order.
#[derive(Default)]
struct Placeholders {
    values: Vec<Value>,
}

impl Placeholders {
    fn push(&mut self, sql: &mut String, value: Value) {
        self.values.push(value);
        sql.push_str(&format!("${}", self.values.len()));
    }
    fn int(&mut self, sql: &mut String, v: i64) {
        self.push(sql, Value::Int(v));
    }
    fn text(&mut self, sql: &mut String, v: &str) {
        self.push(sql, Value::Text(v.to_owned()));
    }
    /// A comma-separated list; `NULL` for none, so `IN (NULL)` matches nothing.
    fn ints(&mut self, sql: &mut String, vs: &[i64]) {
        if vs.is_empty() {
            sql.push_str("NULL");
        }
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            self.int(sql, *v);
        }
    }
    fn texts(&mut self, sql: &mut String, vs: &[String]) {
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            self.text(sql, v);
        }
    }
}
