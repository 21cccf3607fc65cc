//! Coordination under embargo (issue 13): the organisation's registry of parties, kept on
//! its pages, in the API and by `vulndesk party add|list|import`, each checking an entry
//! the same way.

use std::process::Command;

use serde_json::{Value, json};
use vulndesk_mail::testing::Gpg;

use crate::helpers::{BIN, TestApp, on_each_database, spawn_app};
use crate::team_support::{Session, add_member, location, page, post_form, session_for};

async fn send(
    app: &TestApp,
    s: &Session,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = s.on(app.client.request(method, app.url(path)));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("VULNDESK_DB")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PARTIES: &str = "/api/v1/orgs/signalen/parties";

#[tokio::test]
async fn officers_keep_the_registry_members_read_it_and_bad_entries_are_named() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let on = &db.label;
        let officer = add_member(
            &app,
            "olga@signalen.test",
            false,
            &[("signalen", "officer")],
        )
        .await;
        let member = add_member(&app, "mo@signalen.test", false, &[("signalen", "member")]).await;
        let reviewer = add_member(
            &app,
            "rita@signalen.test",
            false,
            &[("signalen", "reviewer")],
        )
        .await;
        let outsider =
            add_member(&app, "kim@kamailio.test", false, &[("kamailio", "officer")]).await;
        let (o, m) = (
            session_for(&app, officer).await,
            session_for(&app, member).await,
        );
        let gpg = Gpg::new();
        let fpr = gpg.reporter_key("Rotterdam PSIRT <psirt@rotterdam.example>");
        let key = gpg.export(&fpr);

        let entry = json!({
            "name": "Gemeente Rotterdam",
            "kind": "service-provider",
            "contacts": ["psirt@rotterdam.example"],
            "products": ["Signalen (managed)"],
            "embargo": "14 days",
            "terms": "Operations staff only.",
            "key": key,
        });
        let (status, added) = send(
            &app,
            &o,
            reqwest::Method::POST,
            PARTIES,
            Some(entry.clone()),
        )
        .await;
        assert_eq!(status, 201, "on {on}: {added}");
        assert_eq!(added["slug"], "gemeente-rotterdam", "on {on}");
        assert_eq!(
            added["key_fingerprint"]
                .as_str()
                .map(str::to_ascii_uppercase),
            Some(fpr.to_ascii_uppercase()),
            "on {on}"
        );

        // The same slug again is a conflict; a bad field is named.
        let (status, body) = send(
            &app,
            &o,
            reqwest::Method::POST,
            PARTIES,
            Some(entry.clone()),
        )
        .await;
        assert_eq!(status, 409, "on {on}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"gemeente-rotterdam\" exists"),
            "on {on}: {body}"
        );
        for (field, bad, words) in [
            ("contacts", json!(["psirt"]), "has no @"),
            ("kind", json!("reseller"), "is not one of"),
            ("embargo", json!("soon"), "expected a period"),
            ("key", json!("not a key"), ""),
        ] {
            let mut body = entry.clone();
            body["slug"] = json!("other");
            body[field] = bad;
            let (status, answer) = send(&app, &o, reqwest::Method::POST, PARTIES, Some(body)).await;
            assert_eq!(
                (status, answer["error"]["field"].as_str()),
                (422, Some(field)),
                "on {on}: {answer}"
            );
            assert!(
                answer["error"]["message"].as_str().unwrap().contains(words),
                "on {on}: {answer}"
            );
        }
        let (status, answer) = send(
            &app,
            &o,
            reqwest::Method::POST,
            PARTIES,
            Some(
                json!({"name": "x", "kind": "vendor", "contacts": ["a@b.example"], "contact": "c"}),
            ),
        )
        .await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (422, Some("contact")),
            "on {on}: {answer}"
        );

        // An edit keeps the slug and, with no key given, the key.
        let mut edit = entry.clone();
        edit.as_object_mut().unwrap().remove("key");
        edit["name"] = json!("Gemeente Rotterdam ICT");
        let (status, edited) = send(
            &app,
            &o,
            reqwest::Method::PUT,
            &format!("{PARTIES}/gemeente-rotterdam"),
            Some(edit),
        )
        .await;
        assert_eq!(status, 200, "on {on}: {edited}");
        assert_eq!(
            (edited["name"].as_str(), edited["slug"].as_str()),
            (Some("Gemeente Rotterdam ICT"), Some("gemeente-rotterdam"))
        );
        assert_eq!(
            edited["key_fingerprint"], added["key_fingerprint"],
            "on {on}"
        );
        let (status, _) = send(
            &app,
            &o,
            reqwest::Method::PUT,
            &format!("{PARTIES}/nobody"),
            Some(entry.clone()),
        )
        .await;
        assert_eq!(status, 404, "on {on}: an edit adds nothing");

        // Members read the registry; only officers change it; reviewers and other
        // organisations' officers do neither.
        let (status, list) = send(&app, &m, reqwest::Method::GET, PARTIES, None).await;
        assert_eq!(status, 200, "on {on}: {list}");
        // The demo's two service providers, and this one.
        assert_eq!(list["parties"].as_array().unwrap().len(), 3, "on {on}");
        let (status, _) = send(
            &app,
            &m,
            reqwest::Method::POST,
            PARTIES,
            Some(entry.clone()),
        )
        .await;
        assert_eq!(status, 403, "on {on}");
        for outsider in [reviewer, outsider] {
            let s = session_for(&app, outsider).await;
            assert_eq!(
                send(&app, &s, reqwest::Method::GET, PARTIES, None).await.0,
                403,
                "on {on}"
            );
        }
        assert_eq!(
            send(
                &app,
                &o,
                reqwest::Method::GET,
                "/api/v1/orgs/nowhere/parties",
                None
            )
            .await
            .0,
            404,
            "on {on}"
        );

        // The pages: a bad form comes back with what was typed and what is wrong.
        let html = page(&app, &o.cookie, "/dashboard")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("href=\"/orgs/signalen/parties\""),
            "on {on}: the dashboard links the registry"
        );
        let form = [
            ("csrf", o.csrf.as_str()),
            ("name", "Debian"),
            ("kind", "distro"),
            (
                "contacts",
                "security@debian.example\nteam@security.debian.example",
            ),
            ("products", "signalen-backend"),
        ];
        let response = post_form(&app, &o.cookie, "/orgs/signalen/parties", &form).await;
        assert_eq!(response.status(), 422, "on {on}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("kind &#34;distro&#34; is not one of")
                || html.contains("kind &quot;distro&quot; is not one of"),
            "on {on}: {html}"
        );
        assert!(
            html.contains("team@security.debian.example"),
            "on {on}: what was typed is kept"
        );
        let mut form = form;
        form[2] = ("kind", "distribution");
        let response = post_form(&app, &o.cookie, "/orgs/signalen/parties", &form).await;
        assert_eq!(
            (response.status().as_u16(), location(&response)),
            (303, "/orgs/signalen/parties".to_owned()),
            "on {on}"
        );
        let html = page(&app, &m.cookie, "/orgs/signalen/parties")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("id=\"party-debian\"") && html.contains("Gemeente Rotterdam ICT"),
            "on {on}"
        );
        assert!(
            !html.contains("id=\"save-party\""),
            "on {on}: a member sees no form"
        );
        let html = page(&app, &o.cookie, "/orgs/signalen/parties/debian")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Edit Debian")
                && html.contains("action=\"/orgs/signalen/parties/debian\""),
            "on {on}"
        );
        let response = post_form(
            &app,
            &m.cookie,
            "/orgs/signalen/parties/debian",
            &[("csrf", m.csrf.as_str()), ("name", "X")],
        )
        .await;
        assert_eq!(response.status(), 403, "on {on}");
        app.kill().await;
    })
    .await;
}

#[tokio::test]
async fn a_spreadsheet_imports_whole_or_not_at_all_and_names_each_bad_line() {
    on_each_database(|db| async move {
        let on = &db.label;
        let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/signalen.toml");
        let (code, _, err) = cli(&["init", "--db", &db.url, "--policy", policy]);
        assert_eq!(code, 0, "on {on}: {err}");
        let dir = std::env::temp_dir().join(format!("vd-parties-{}-{on}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("parties.csv");
        std::fs::write(
            &csv,
            "\u{feff}Name,Kind,Contacts,Products,Embargo\n\
             Gemeente Utrecht,service provider,security@utrecht.example; ict@utrecht.example,Signalen,30 days\n\
             \"Delta, Inc.\",vendor,psirt,\"Delta Cloud\nDelta Edge\",\n\
             Debian,distribution,security@debian.example,,soon\n",
        )
        .unwrap();
        let (code, out, err) = cli(&["party", "import", "--org", "signalen", csv.to_str().unwrap(), "--db", &db.url]);
        assert_eq!(code, 1, "on {on}: {out}{err}");
        assert!(err.contains("nothing was imported; 2 of 3 entries need fixing"), "on {on}: {err}");
        assert!(err.contains("line 3: contacts: \"psirt\" is not an e-mail address"), "on {on}: {err}");
        assert!(err.contains("line 5: embargo: expected a period"), "on {on}: {err}");
        let (_, out, _) = cli(&["party", "list", "--org", "signalen", "--db", &db.url]);
        assert!(out.contains("no parties yet"), "on {on}: {out}");

        let fixed = std::fs::read_to_string(&csv).unwrap().replace(",psirt,", ",psirt@delta.example,").replace(",soon", ",");
        std::fs::write(&csv, fixed).unwrap();
        let (code, out, err) = cli(&["party", "import", "--org", "signalen", csv.to_str().unwrap(), "--db", &db.url]);
        assert_eq!(code, 0, "on {on}: {err}");
        assert!(out.contains("3 added, 0 updated"), "on {on}: {out}");
        let (code, out, err) = cli(&["party", "import", "--org", "signalen", csv.to_str().unwrap(), "--db", &db.url]);
        assert!(code == 0 && out.contains("0 added, 3 updated"), "on {on}: {out}{err}");

        let (code, out, err) = cli(&["party", "add", "--org", "signalen", "--name", "Delta, Inc.", "--kind", "vendor", "--contact", "x@delta.example", "--db", &db.url]);
        assert_eq!(code, 4, "on {on}: a taken slug is refused: {out}{err}");
        assert!(err.contains("\"delta-inc\" exists"), "on {on}: {err}");
        let (code, out, err) = cli(&["party", "add", "--org", "signalen", "--name", "SUSE", "--kind", "distribution", "--contact", "security@suse.example", "--product", "Signalen RPMs", "--db", &db.url]);
        assert_eq!(code, 0, "on {on}: {out}{err}");

        let (code, out, _) = cli(&["party", "list", "--org", "signalen", "--format", "json", "--db", &db.url]);
        assert_eq!(code, 0);
        let list: Value = serde_json::from_str(&out).unwrap();
        let summary: Vec<(&str, &str)> = list.as_array().unwrap().iter().map(|p| (p["slug"].as_str().unwrap(), p["kind"].as_str().unwrap())).collect();
        assert_eq!(summary, [("debian", "distribution"), ("suse", "distribution"), ("gemeente-utrecht", "service-provider"), ("delta-inc", "vendor")], "on {on}");
        let delta = &list[3];
        assert_eq!(delta["products"], json!(["Delta Cloud", "Delta Edge"]), "on {on}: a quoted cell holds lines");
        assert_eq!(list[2]["contacts"], json!(["security@utrecht.example", "ict@utrecht.example"]), "on {on}");
        assert_eq!(list[2]["embargo"], "30 days", "on {on}");

        std::fs::write(&csv, "name,kind,contact\nX,vendor,a@b.example\n").unwrap();
        let (code, _, err) = cli(&["party", "import", "--org", "signalen", csv.to_str().unwrap(), "--db", &db.url]);
        assert_eq!(code, 1, "on {on}");
        assert!(err.contains("line 1: unknown column \"contact\""), "on {on}: {err}");
        let (code, _, err) = cli(&["party", "list", "--org", "nowhere", "--db", &db.url]);
        assert_eq!(code, 1, "on {on}");
        assert!(err.contains("no organisation \"nowhere\""), "on {on}: {err}");
        std::fs::remove_dir_all(&dir).ok();
    })
    .await;
}
