//! `vulndesk audit verify`: edits, deletions (in the middle or at the end) and reorderings
//! made directly in the database, behind the append-only triggers, are each caught and
//! located.

use serde_json::json;
use tokio::process::Command;
use vulndesk_store::Store;

use crate::helpers::{BIN, TestDb, on_each_database, report, spawn_app};

async fn verify(db: &TestDb) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["audit", "verify", "--db", &db.url])
        .env_remove("VULNDESK_DB")
        .output()
        .await
        .expect("run vulndesk audit verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Runs SQL as someone with direct database access would, triggers out of the way.
async fn tamper(store: &Store, statements: &[String]) {
    match store {
        Store::Sqlite(vulndesk_store::SqliteStore { pool, .. }) => {
            for drop in [
                "DROP TRIGGER IF EXISTS events_no_update",
                "DROP TRIGGER IF EXISTS events_no_delete",
            ] {
                sqlx::query(drop).execute(pool).await.unwrap();
            }
            for s in statements {
                // Test-made statements, no outside input.
                sqlx::query(sqlx::AssertSqlSafe(s.clone()))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        Store::Postgres(pool) => {
            sqlx::query("DROP TRIGGER IF EXISTS events_append_only ON events")
                .execute(pool)
                .await
                .unwrap();
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s.clone()))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test]
async fn audit_verify_catches_edited_deleted_and_reordered_events() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        // Three cases of three events each: report, receipt, reply.
        let mut cases = Vec::new();
        for title in ["first", "second", "third"] {
            let (id, token) = app.create_report(&report("freepbx", title)).await;
            let reply = app
                .client
                .post(app.url(&format!("/api/v1/reports/{id}/replies")))
                .bearer_auth(&token)
                .json(&json!({"body": "more detail"}))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status().as_u16(), 201);
            cases.push(id);
        }
        let (code, out) = verify(&db).await;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("every hash chain intact"), "{out}");
        let store = app.store.clone();

        // An edit of a payload: the hash no longer matches the contents.
        tamper(&store, &[format!(
            "UPDATE events SET payload = replace(payload, 'more detail', 'less detail') WHERE case_id = {} AND seq = 3",
            cases[0]
        )])
        .await;
        let (code, out) = verify(&db).await;
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(&format!("case {}: the log is broken at event 3", cases[0])), "on {}: {out}", db.label);
        tamper(&store, &[format!(
            "UPDATE events SET payload = replace(payload, 'less detail', 'more detail') WHERE case_id = {} AND seq = 3",
            cases[0]
        )])
        .await;
        assert_eq!(verify(&db).await.0, 0, "restoring the bytes restores the chain");

        // Two events swapped: the links no longer chain.
        let c = cases[2];
        let swap = |a: i64, b: i64| {
            vec![
                format!("UPDATE events SET seq = 100 WHERE case_id = {c} AND seq = {a}"),
                format!("UPDATE events SET seq = {a} WHERE case_id = {c} AND seq = {b}"),
                format!("UPDATE events SET seq = {b} WHERE case_id = {c} AND seq = 100"),
            ]
        };
        tamper(&store, &swap(2, 3)).await;
        let (code, out) = verify(&db).await;
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(&format!("case {c}: the log is broken at event 2: prev_hash")), "on {}: {out}", db.label);
        tamper(&store, &swap(2, 3)).await;
        assert_eq!(verify(&db).await.0, 0, "swapping back restores the chain");

        // A deleted event in the middle: the sequence has a gap.
        tamper(&store, &[format!("DELETE FROM events WHERE case_id = {} AND seq = 2", cases[1])]).await;
        let (code, out) = verify(&db).await;
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(&format!("case {}: the log is broken at event 2: missing event", cases[1])), "on {}: {out}", db.label);

        // The last event cut off: still a valid chain, but not the head the case records.
        tamper(&store, &[format!("DELETE FROM events WHERE case_id = {} AND seq = 3", cases[0])]).await;
        let (code, out) = verify(&db).await;
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!("case {}: the log is broken at event 3: missing event", cases[0])),
            "on {}: {out}",
            db.label
        );

    })
    .await;
}

/// Statements run behind the account log's triggers.
async fn tamper_accounts(store: &Store, statement: &str) {
    let drops: &[&str] = match store {
        Store::Sqlite(_) => &[
            "DROP TRIGGER IF EXISTS account_events_no_update",
            "DROP TRIGGER IF EXISTS account_events_no_delete",
        ],
        Store::Postgres(_) => {
            &["DROP TRIGGER IF EXISTS account_events_append_only ON account_events"]
        }
    };
    for sql in drops.iter().copied().chain([statement]) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match store {
            Store::Sqlite(vulndesk_store::SqliteStore { pool: p, .. }) => {
                sqlx::query(sql).execute(p).await.map(drop)
            }
            Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
        }
        .unwrap();
    }
}

#[tokio::test]
async fn account_actions_are_a_chain_that_audit_verify_checks() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let id = crate::team_support::add_member(
            &app,
            "m@example.org",
            false,
            &[("kamailio", "member")],
        )
        .await;
        let password = crate::team_support::PASSWORD;
        crate::team_support::sign_in_password(&app, "m@example.org", "wrong password!").await;
        crate::team_support::sign_in_password(&app, "nobody@example.org", "wrong password!").await;
        crate::team_support::sign_in_password(&app, "m@example.org", password).await;
        let log = app.store.account_events().await.unwrap();
        let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["sign_in_failed", "sign_in_failed", "signed_in"],
            "on {}",
            db.label
        );
        assert_eq!(log[0].payload, json!({"user": id}).to_string());
        assert_eq!(
            log[1].payload,
            json!({"user": null}).to_string(),
            "what was typed is never kept"
        );
        assert_eq!(log[2].actor, format!("user:{id}"));
        let (code, out) = verify(&db).await;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("account log verified, 3 events"), "{out}");
        // Rewriting who signed in is caught, at the event rewritten.
        tamper_accounts(
            &app.store,
            "UPDATE account_events SET actor = 'user:99' WHERE seq = 3",
        )
        .await;
        let (code, out) = verify(&db).await;
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("the account log is broken at event 3"),
            "on {}: {out}",
            db.label
        );
    })
    .await;
}

#[tokio::test]
async fn advisory_logs_are_chains_that_audit_verify_checks() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let org = app
            .store
            .organisation_by_slug("kamailio")
            .await
            .unwrap()
            .unwrap();
        let event = |kind: &str| vulndesk_store::NewEvent {
            kind: kind.into(),
            actor: "user:1".into(),
            at: jiff::Timestamp::now(),
            payload: json!({ "kind": kind }),
        };
        let advisory = app
            .store
            .create_advisory(org.id, "KAMAILIO", 2026, &[], event("drafted"))
            .await
            .unwrap();
        app.store
            .append_advisory_events(advisory.id, 1, vec![event("edited")])
            .await
            .unwrap();
        let (code, out) = verify(&db).await;
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("1 advisory log verified, 2 events"),
            "on {}: {out}",
            db.label
        );
        // Rewriting who edited it, behind the trigger, is caught at that event.
        let rewrite = "UPDATE advisory_events SET actor = 'user:99' WHERE seq = 2".to_owned();
        match &app.store {
            Store::Sqlite(vulndesk_store::SqliteStore { pool, .. }) => {
                sqlx::query("DROP TRIGGER IF EXISTS advisory_events_no_update")
                    .execute(pool)
                    .await
                    .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(rewrite))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            Store::Postgres(pool) => {
                sqlx::query(
                    "DROP TRIGGER IF EXISTS advisory_events_append_only ON advisory_events",
                )
                .execute(pool)
                .await
                .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(rewrite))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        let (code, out) = verify(&db).await;
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!(
                "advisory {}: the log is broken at event 2",
                advisory.number
            )),
            "on {}: {out}",
            db.label
        );
    })
    .await;
}
