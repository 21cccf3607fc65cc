//! The OpenAPI document the server publishes is checked against the server's real answers:
//! every route described, every status seen declared, every JSON body valid against the
//! declared schema (which forbids unknown fields where the shape is fixed).

use std::collections::BTreeSet;

use jsonschema::Draft;
use serde_json::{Value, json};

use crate::form::file_report;
use crate::helpers::{
    RATE_LIMIT_ENV, TestApp, on_each_database, report, spawn_app, spawn_app_with,
};

/// The published contract and what the tests have checked against it.
struct Contract {
    doc: Value,
    seen: BTreeSet<(String, String, u16)>,
}

impl Contract {
    async fn fetch(app: &TestApp) -> Contract {
        let response = app.get("/api/v1/openapi.json").await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let doc: Value = response.json().await.expect("the document is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        Contract {
            doc,
            seen: BTreeSet::new(),
        }
    }

    /// Follows a local `$ref` (`#/components/...`).
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {pointer}")),
            None => value,
        }
    }

    /// The schema `instance` must match; errors as readable lines.
    fn violations(&self, schema: &Value, instance: &Value) -> Vec<String> {
        // The whole document is the root resource, so `#/components/...` references resolve;
        // its other members are not schema keywords and are ignored.
        let mut root = self.doc.clone();
        root["x-under-test"] = schema.clone();
        root["$ref"] = json!("#/x-under-test");
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("the declared schema does not compile: {e}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// The JSON schema declared for `status` of `method path`.
    fn declared(&self, path: &str, method: &str, status: u16, media: &str) -> &Value {
        let operation = &self.doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not described");
        let response = operation["responses"]
            .get(status.to_string())
            .map(|r| self.resolve(r))
            .unwrap_or_else(|| panic!("{method} {path} does not declare {status}"));
        response["content"]
            .get(media)
            .unwrap_or_else(|| panic!("{method} {path} {status} does not declare {media}"))
            .get("schema")
            .expect("a schema")
    }

    /// Checks a real answer of `method path` against the document.
    async fn check(&mut self, path: &str, method: &str, response: reqwest::Response) -> Value {
        let status = response.status().as_u16();
        let media = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let schema = self.declared(path, method, status, &media).clone();
        self.seen
            .insert((path.to_owned(), method.to_owned(), status));
        if media != "application/json" {
            return Value::Null;
        }
        let body: Value = response.json().await.expect("a JSON body");
        let violations = self.violations(&schema, &body);
        assert!(
            violations.is_empty(),
            "{method} {path} {status} does not match the document:\n{}\n{body:#}",
            violations.join("\n")
        );
        body
    }
}

/// Every route of the API, as the document must name them.
const ROUTES: [(&str, &str); 8] = [
    ("/healthz", "get"),
    ("/api/v1/openapi.json", "get"),
    ("/api/v1/products", "get"),
    ("/api/v1/reports", "post"),
    ("/api/v1/reports/{id}", "get"),
    ("/api/v1/reports/{id}/replies", "post"),
    ("/api/v1/reports/{id}/token", "post"),
    ("/api/v1/reports/{id}/files/{sha256}", "get"),
];

const REPORTS: &str = "/api/v1/reports";
const REPORT: &str = "/api/v1/reports/{id}";
const REPLIES: &str = "/api/v1/reports/{id}/replies";
const FILES: &str = "/api/v1/reports/{id}/files/{sha256}";
const TOKEN: &str = "/api/v1/reports/{id}/token";

async fn post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: String,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_api_answer_matches_the_openapi_document() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let mut c = Contract::fetch(&app).await;
        let described: BTreeSet<(String, String)> = c.doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(move |m| (path.clone(), m.clone()))
            })
            .collect();
        let routes: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
        assert_eq!(
            described, routes,
            "the document describes exactly the routes"
        );

        let r = app.get("/healthz").await;
        c.check("/healthz", "get", r).await;
        let r = app.get("/api/v1/openapi.json").await;
        c.check("/api/v1/openapi.json", "get", r).await;
        let r = app.get("/api/v1/products").await;
        let products = c.check("/api/v1/products", "get", r).await;
        assert!(!products.as_array().unwrap().is_empty());

        const JSON: &str = "application/json";
        let body = json!({
            "product": "asterisk",
            "organisation": "sangoma",
            "title": "Crash",
            "description": "Steps",
            "fields": {"issue_type": "DoS"},
            "language": "en",
        });
        let r = post(&app, REPORTS, None, JSON, body.to_string()).await;
        assert_eq!(r.status().as_u16(), 201, "on {}", db.label);
        let created = c.check(REPORTS, "post", r).await;
        let (id, token) = (
            created["id"].as_i64().unwrap(),
            created["token"].as_str().unwrap().to_owned(),
        );
        for (content_type, body, status) in [
            (JSON, "{\"product\": ".to_owned(), 400),
            (JSON, "x".repeat(300 * 1024), 413),
            ("text/plain", body.to_string(), 415),
            (
                JSON,
                json!({"product": "asterisk", "title": "t"}).to_string(),
                422,
            ),
        ] {
            let r = post(&app, REPORTS, None, content_type, body).await;
            assert_eq!(r.status().as_u16(), status);
            c.check(REPORTS, "post", r).await;
        }

        let case = format!("/api/v1/reports/{id}");
        let r = get(&app, &case, Some(&token)).await;
        assert_eq!(r.status().as_u16(), 200);
        c.check(REPORT, "get", r).await;
        let r = get(&app, &case, Some(&"0".repeat(64))).await;
        assert_eq!(r.status().as_u16(), 404);
        c.check(REPORT, "get", r).await;

        let replies = format!("{case}/replies");
        let reply = json!({"body": "More detail."}).to_string();
        for (token, content_type, body, status) in [
            (Some(token.as_str()), JSON, reply.clone(), 201),
            (Some(token.as_str()), JSON, "{".to_owned(), 400),
            (None, JSON, reply.clone(), 404),
            (Some(token.as_str()), JSON, "x".repeat(300 * 1024), 413),
            (Some(token.as_str()), "text/plain", reply.clone(), 415),
            (
                Some(token.as_str()),
                JSON,
                json!({"body": ""}).to_string(),
                422,
            ),
            (
                Some(token.as_str()),
                JSON,
                json!({"text": "x"}).to_string(),
                422,
            ),
        ] {
            let r = post(&app, &replies, token, content_type, body).await;
            assert_eq!(r.status().as_u16(), status, "reply {status}");
            c.check(REPLIES, "post", r).await;
        }

        // A new token: the old one stops working at once.
        let r = post(
            &app,
            &format!("{case}/token"),
            Some(&token),
            JSON,
            String::new(),
        )
        .await;
        assert_eq!(r.status().as_u16(), 201);
        let fresh = c.check(TOKEN, "post", r).await["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = post(
            &app,
            &format!("{case}/token"),
            Some(&token),
            JSON,
            String::new(),
        )
        .await;
        assert_eq!(r.status().as_u16(), 404, "the old token is dead");
        c.check(TOKEN, "post", r).await;
        assert_eq!(get(&app, &case, Some(&token)).await.status().as_u16(), 404);
        assert_eq!(get(&app, &case, Some(&fresh)).await.status().as_u16(), 200);

        let (id, token) = file_report(&app).await;
        let poc = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"print('poc')\n"));
        let r = get(
            &app,
            &format!("/api/v1/reports/{id}/files/{poc}"),
            Some(&token),
        )
        .await;
        assert_eq!(r.status().as_u16(), 200);
        c.check(FILES, "get", r).await;
        let r = get(
            &app,
            &format!("/api/v1/reports/{id}/files/{}", "0".repeat(64)),
            Some(&token),
        )
        .await;
        assert_eq!(r.status().as_u16(), 404);
        c.check(FILES, "get", r).await;

        // Over the rate limit, on a server that has one.
        let limited = spawn_app_with(&db, &[(RATE_LIMIT_ENV, "1/min")]).await;
        let first = post(
            &limited,
            REPORTS,
            None,
            JSON,
            report("salestim", "a").to_string(),
        )
        .await;
        assert_eq!(first.status().as_u16(), 201);
        let r = post(
            &limited,
            REPORTS,
            None,
            JSON,
            report("salestim", "b").to_string(),
        )
        .await;
        assert_eq!(r.status().as_u16(), 429);
        c.check(REPORTS, "post", r).await;
        let r = post(&limited, &replies, Some(&token), JSON, reply.clone()).await;
        assert_eq!(r.status().as_u16(), 429);
        c.check(REPLIES, "post", r).await;

        for (path, method) in ROUTES {
            assert!(
                c.seen
                    .iter()
                    .any(|(p, m, s)| p == path && m == method && *s < 300),
                "no successful {method} {path} was checked"
            );
        }
        for status in [201, 200, 404, 413, 415, 422, 429] {
            assert!(
                c.seen.iter().any(|(_, _, s)| *s == status),
                "{status} unchecked"
            );
        }

        // The check itself can fail: a missing field and an unexpected one are caught.
        let schema = c.declared(REPORTS, "post", 201, "application/json").clone();
        let mut missing = created.clone();
        missing.as_object_mut().unwrap().remove("token");
        assert!(
            !c.violations(&schema, &missing).is_empty(),
            "a missing field passed"
        );
        let mut extra = created.clone();
        extra["debug"] = json!(true);
        assert!(
            !c.violations(&schema, &extra).is_empty(),
            "an unexpected field passed"
        );
        let error = c.declared(REPORTS, "post", 422, "application/json").clone();
        let unexpected = json!({"error": {"code": "invalid_field", "message": "m", "hint": "h"}});
        assert!(!c.violations(&error, &unexpected).is_empty());
    })
    .await;
}
