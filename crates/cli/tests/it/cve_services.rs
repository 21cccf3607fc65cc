//! The CVE Services client against a stand-in of the CVE Program's API. There is no network
//! here, so the stand-in plays the service: it checks every request against the API's
//! published OpenAPI description (kept trimmed in `crates/desk/cve-services/`: the
//! operation, its headers, query and path parameters, the body's envelope, and its CNA
//! container against the CVE Record Format's container schema), keeps the IDs' states like
//! the service, and answers with the shapes of the description's response schemas, which it
//! checks too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::{Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use vulndesk_desk::cve_services::{Account, CveServices, CveServicesError};

pub(crate) const ORG: &str = "vulndesk-test";
pub(crate) const USER: &str = "cna@vulndesk.example";
pub(crate) const KEY: &str = "a3f1-test-key";

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../desk/cve-services")
}

pub(crate) struct Service {
    spec: Value,
    /// CVE ID → state.
    pub(crate) ids: Mutex<BTreeMap<String, String>>,
    /// What each request was found to break, for the test to read.
    pub(crate) problems: Mutex<Vec<String>>,
}

fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("a schema of the description");
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn schema_file(reference: &str) -> Value {
    let text = std::fs::read_to_string(spec_dir().join(reference)).unwrap();
    serde_json::from_str(&text).unwrap()
}

impl Service {
    /// The operation `method path` names, with its path parameters.
    fn operation(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(String, Value, BTreeMap<String, String>)> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        for (template, item) in self.spec["paths"].as_object()? {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut params = BTreeMap::new();
            let fits = parts
                .iter()
                .zip(&segments)
                .all(|(t, s)| match t.strip_prefix('{') {
                    Some(name) => {
                        params.insert(name.trim_end_matches('}').to_owned(), (*s).to_owned());
                        true
                    }
                    None => t == s,
                });
            if let (true, Some(op)) = (fits, item.get(method)) {
                return Some((template.clone(), op.clone(), params));
            }
        }
        None
    }

    /// Everything `request` breaks in the description.
    fn judge(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &axum::http::HeaderMap,
        body: &Bytes,
    ) -> Result<(String, BTreeMap<String, String>), Vec<String>> {
        let Some((template, op, path_params)) = self.operation(method, path) else {
            return Err(vec![format!(
                "{method} {path} is no operation of the description"
            )]);
        };
        let mut problems = Vec::new();
        let query: BTreeMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
        let mut known = Vec::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let p = match p["$ref"].as_str() {
                Some(r) => {
                    self.spec["components"]["parameters"][r.rsplit('/').next().unwrap()].clone()
                }
                None => p.clone(),
            };
            let name = p["name"].as_str().unwrap().to_owned();
            let given = match p["in"].as_str().unwrap() {
                "header" => headers
                    .get(&name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                "query" => {
                    known.push(name.clone());
                    query.get(&name).cloned()
                }
                "path" => path_params.get(&name).cloned(),
                other => panic!("parameter in {other}"),
            };
            match given {
                None if p["required"] == true => problems.push(format!("{name} is required")),
                None => {}
                Some(text) => {
                    let value = match p["schema"]["type"].as_str() {
                        Some("integer") => text
                            .parse::<i64>()
                            .map(Value::from)
                            .unwrap_or(Value::String(text)),
                        _ => Value::String(text),
                    };
                    problems.extend(
                        validate(&p["schema"], &value)
                            .into_iter()
                            .map(|e| format!("{name}: {e}")),
                    );
                }
            }
        }
        for name in query.keys().filter(|k| !known.contains(k)) {
            problems.push(format!("query parameter {name} is not in the description"));
        }
        match op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() {
            Some(reference) => match serde_json::from_slice::<Value>(body) {
                Ok(value) => {
                    // The envelope by the description, the container by the CVE Record
                    // Format (see crates/desk/cve-services/README.md).
                    let envelope = schema_file(reference);
                    for key in envelope["required"].as_array().into_iter().flatten() {
                        if value.get(key.as_str().unwrap()).is_none() {
                            problems.push(format!("the body has no {key}"));
                        }
                    }
                    let container = if template.ends_with("/reject") {
                        "containers/CVE_JSON_cnaRejectedContainer_5.1.1.json"
                    } else {
                        "containers/CVE_JSON_cnaPublishedContainer_5.1.1.json"
                    };
                    problems.extend(validate(&schema_file(container), &value["cnaContainer"]));
                }
                Err(e) => problems.push(format!("the body is not JSON: {e}")),
            },
            None if !body.is_empty() => {
                problems.push("a body where the operation takes none".into())
            }
            None => {}
        }
        if problems.is_empty() {
            Ok((format!("{method} {template}"), path_params))
        } else {
            Err(problems)
        }
    }

    /// What the service answers a valid request, checked against the described response.
    fn answer(
        &self,
        op: &str,
        params: &BTreeMap<String, String>,
        query: &BTreeMap<String, String>,
        headers: &axum::http::HeaderMap,
    ) -> (StatusCode, Value) {
        let authorised = [
            ("CVE-API-ORG", ORG),
            ("CVE-API-USER", USER),
            ("CVE-API-KEY", KEY),
        ]
        .iter()
        .all(|(h, v)| headers.get(*h).and_then(|x| x.to_str().ok()) == Some(*v));
        if !authorised {
            return (
                StatusCode::UNAUTHORIZED,
                json!({ "error": "UNAUTHORIZED", "message": "Unauthorized" }),
            );
        }
        let now = jiff::Timestamp::now().to_string();
        let mut ids = self.ids.lock().unwrap();
        let id_record = |cve: &str, state: &str| {
            json!({
                "cve_id": cve, "cve_year": &cve[4..8], "owning_cna": ORG, "state": state,
                "requested_by": { "cna": ORG, "user": USER }, "reserved": now, "time": { "created": now, "modified": now },
            })
        };
        match op {
            "post /cve-id" => {
                let year = &query["cve_year"];
                let amount: usize = query["amount"].parse().unwrap();
                let first = 1000 + ids.len();
                let reserved: Vec<Value> = (first..first + amount)
                    .map(|n| {
                        let cve = format!("CVE-{year}-{n}");
                        ids.insert(cve.clone(), "RESERVED".into());
                        id_record(&cve, "RESERVED")
                    })
                    .collect();
                (StatusCode::OK, json!({ "cve_ids": reserved }))
            }
            "get /cve-id/{id}" => match ids.get(&params["id"]) {
                Some(state) => (StatusCode::OK, id_record(&params["id"], state)),
                None => (
                    StatusCode::NOT_FOUND,
                    json!({ "error": "CVEID_NOT_FOUND", "message": "The CVE ID does not exist." }),
                ),
            },
            "post /cve/{id}/cna"
            | "put /cve/{id}/cna"
            | "post /cve/{id}/reject"
            | "put /cve/{id}/reject" => {
                let id = &params["id"];
                let Some(state) = ids.get(id).cloned() else {
                    return (
                        StatusCode::NOT_FOUND,
                        json!({ "error": "CVEID_NOT_FOUND", "message": "The CVE ID does not exist." }),
                    );
                };
                let (update, rejecting) = (op.starts_with("put"), op.ends_with("reject"));
                // The service's own rules: publish a reserved ID, update a published record,
                // reject what is not rejected yet, update a rejection.
                let allowed = match (update, rejecting) {
                    (false, false) => state == "RESERVED",
                    (true, false) => state == "PUBLISHED",
                    (false, true) => state != "REJECTED",
                    (true, true) => state == "REJECTED",
                };
                if !allowed {
                    return (
                        StatusCode::FORBIDDEN,
                        json!({ "error": "RECORD_STATE", "message": format!("The CVE ID is {state}.") }),
                    );
                }
                let new_state = if rejecting { "REJECTED" } else { "PUBLISHED" };
                ids.insert(id.clone(), new_state.into());
                // The record's metadata only: the description's response schema shapes the
                // containers unlike the record format (`affected` as an object), and the
                // client reads no more than the status.
                let record = json!({
                    "dataType": "CVE_RECORD", "dataVersion": "5.1",
                    "cveMetadata": { "cveId": id, "assignerOrgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6", "state": new_state },
                });
                let key = if update { "updated" } else { "created" };
                (
                    StatusCode::OK,
                    json!({ "message": format!("{id} record {key}"), key: record }),
                )
            }
            other => panic!("no answer for {other}"),
        }
    }
}

async fn handle(State(service): State<Arc<Service>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, 4 << 20).await.unwrap();
    let method = parts.method.as_str().to_ascii_lowercase();
    let path = parts.uri.path().trim_start_matches("/api").to_owned();
    let query_text = parts.uri.query().unwrap_or_default().to_owned();
    match service.judge(&method, &path, &query_text, &parts.headers, &bytes) {
        Err(problems) => {
            service
                .problems
                .lock()
                .unwrap()
                .push(format!("{method} {path}: {}", problems.join("; ")));
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "error": "BAD_REQUEST", "message": problems.join("; ") })),
            )
                .into_response()
        }
        Ok((op, params)) => {
            let query: BTreeMap<String, String> =
                serde_urlencoded::from_str(&query_text).unwrap_or_default();
            let (status, answer) = service.answer(&op, &params, &query, &parts.headers);
            // The stand-in answers only what the description says the service answers.
            let (template, verb) = op.split_once(' ').map(|(m, t)| (t, m)).unwrap();
            let described = &service.spec["paths"][template][verb]["responses"][status.as_str()]["content"]
                ["application/json"]["schema"]["$ref"];
            let reference = described
                .as_str()
                .unwrap_or_else(|| panic!("{op} answers no {status}"));
            let wrong = validate(&schema_file(reference), &answer);
            assert!(
                wrong.is_empty(),
                "the stand-in's {op} answer breaks {reference}: {wrong:?}"
            );
            (status, axum::Json(answer)).into_response()
        }
    }
}

pub(crate) async fn stand_in() -> (String, Arc<Service>) {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir().join("openapi.json")).unwrap())
            .unwrap();
    let service = Arc::new(Service {
        spec,
        ids: Mutex::default(),
        problems: Mutex::default(),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(service.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, service)
}

fn advisory(cve: &str) -> vulndesk_core::advisory::Advisory {
    use vulndesk_core::advisory::*;
    Advisory {
        id: "VULNDESK-2026-0001".into(),
        cve: Some(cve.into()),
        url: "https://desk.example/o/kamailio/advisories/VULNDESK-2026-0001".into(),
        publisher: Publisher {
            name: "Kamailio".into(),
            namespace: "https://www.kamailio.org".into(),
            contact: "security@kamailio.org".into(),
            cna: Some(Cna {
                org_id: "b3476cb9-2e3d-41a6-98d0-0f47421a65b6".into(),
                short_name: ORG.into(),
            }),
        },
        title: "Heap overflow in the SIP parser".into(),
        summary: "A crafted SIP message overflows a heap buffer.".into(),
        description: "Upgrade to 5.7.4.".into(),
        component: Some("parser".into()),
        products: vec![Product {
            vendor: "Kamailio".into(),
            name: "kamailio".into(),
            package: None,
            lines: vec![LineRange {
                line: "5.7".into(),
                introduced: "5.7.0".into(),
                fixed: Some("5.7.4".into()),
            }],
        }],
        cvss: vec![
            vulndesk_core::severity::Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H")
                .unwrap(),
        ],
        ssvc: None,
        weaknesses: vec![vulndesk_core::cwe::weakness("CWE-787").unwrap()],
        references: Vec::new(),
        workarounds: String::new(),
        credits: vec![Credit {
            name: "Alfred E. Finder".into(),
            kind: CreditKind::Finder,
        }],
        statements: Vec::new(),
        revisions: vec![Revision {
            number: 1,
            at: "2026-11-30T12:00:00Z".parse().unwrap(),
            summary: "Initial publication.".into(),
        }],
        withdrawn: None,
    }
}

#[tokio::test]
async fn the_client_reserves_publishes_updates_and_rejects_as_the_description_says() {
    let (url, service) = stand_in().await;
    let account = Account {
        url: url.clone(),
        org: ORG.into(),
        user: USER.into(),
        key: SecretString::from(KEY),
    };
    let cve = CveServices::new(account.clone()).unwrap();

    let reserved = cve.reserve(2026, 2).await.unwrap();
    assert_eq!(reserved.len(), 2);
    assert!(
        reserved
            .iter()
            .all(|r| r.cve_id.starts_with("CVE-2026-") && r.year == "2026")
    );
    assert_eq!(cve.state(&reserved[0].cve_id).await.unwrap(), "RESERVED");
    let one = cve.reserve(2027, 1).await.unwrap();
    assert_eq!(one.len(), 1, "one ID is reserved without a batch type");

    // The record the formats crate renders is what is published, then updated.
    let mut published = advisory(&reserved[0].cve_id);
    let record = vulndesk_formats::cve::record(&published).unwrap();
    cve.publish(&reserved[0].cve_id, &record["containers"]["cna"], false)
        .await
        .unwrap();
    assert_eq!(cve.state(&reserved[0].cve_id).await.unwrap(), "PUBLISHED");
    published.revisions.push(vulndesk_core::advisory::Revision {
        number: 2,
        at: "2026-12-02T09:00:00Z".parse().unwrap(),
        summary: "5.6 fixed too.".into(),
    });
    let record = vulndesk_formats::cve::record(&published).unwrap();
    cve.publish(&reserved[0].cve_id, &record["containers"]["cna"], true)
        .await
        .unwrap();

    // A withdrawn advisory's CVE is rejected with its reason.
    let mut withdrawn = advisory(&reserved[1].cve_id);
    withdrawn.withdrawn = Some(vulndesk_core::advisory::Withdrawal {
        at: "2026-12-03T09:00:00Z".parse().unwrap(),
        reason: "Not a vulnerability.".into(),
    });
    let record = vulndesk_formats::cve::record(&withdrawn).unwrap();
    cve.reject(&reserved[1].cve_id, &record["containers"]["cna"], false)
        .await
        .unwrap();
    assert_eq!(cve.state(&reserved[1].cve_id).await.unwrap(), "REJECTED");
    assert!(
        service.problems.lock().unwrap().is_empty(),
        "{:?}",
        service.problems.lock().unwrap()
    );

    // Refusals come back named: a wrong key, an ID that was never reserved.
    let wrong = CveServices::new(Account {
        key: SecretString::from("wrong"),
        ..account
    })
    .unwrap();
    assert_eq!(
        wrong.reserve(2026, 1).await,
        Err(CveServicesError::Refused {
            status: 401,
            message: "UNAUTHORIZED: Unauthorized".into()
        })
    );
    let never = vulndesk_formats::cve::record(&advisory("CVE-2026-9999999")).unwrap();
    let unknown = cve
        .publish("CVE-2026-9999999", &never["containers"]["cna"], false)
        .await;
    assert_eq!(
        unknown,
        Err(CveServicesError::Refused {
            status: 404,
            message: "CVEID_NOT_FOUND: The CVE ID does not exist.".into()
        })
    );
    let again = cve
        .publish(&reserved[1].cve_id, &never["containers"]["cna"], false)
        .await;
    assert!(
        matches!(again, Err(CveServicesError::Refused { status: 403, .. })),
        "a rejected ID is not published: {again:?}"
    );
    assert!(
        service.problems.lock().unwrap().is_empty(),
        "{:?}",
        service.problems.lock().unwrap()
    );
    let nowhere = CveServices::new(Account {
        url: "http://127.0.0.1:9/api".into(),
        org: ORG.into(),
        user: USER.into(),
        key: SecretString::from(KEY),
    })
    .unwrap();
    assert!(matches!(
        nowhere.state("CVE-2026-1000").await,
        Err(CveServicesError::Unreachable { .. })
    ));
}

#[tokio::test]
async fn the_stand_in_refuses_what_the_description_does_not_allow() {
    // The judge judges: a body that breaks the request schema, and a reservation without
    // its required year, are refused and named.
    let (url, service) = stand_in().await;
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{url}{path}"))
            .header("CVE-API-ORG", ORG)
            .header("CVE-API-USER", USER)
            .header("CVE-API-KEY", KEY)
    };
    let r = send(reqwest::Method::POST, "/cve/CVE-2026-1000/cna")
        .json(&json!({ "cnaContainer": { "title": 5 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = send(reqwest::Method::POST, "/cve-id?amount=1&short_name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let problems = service.problems.lock().unwrap().join("\n");
    assert!(problems.contains("cve_year is required"), "{problems}");
    assert!(problems.contains("/cve/CVE-2026-1000/cna"), "{problems}");
}
