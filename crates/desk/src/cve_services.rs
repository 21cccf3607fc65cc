//! A client of CVE Services, the CVE Program's API through which a CNA reserves CVE IDs
//! and publishes, updates and rejects CVE records. The operations, their parameters and
//! their bodies follow the API's published OpenAPI description, kept (trimmed to what is
//! used here) in `cve-services/`; the tests run this client against a stand-in that
//! validates every request against that description.
//!
//! The API key is held as a secret: it is sent in its header and never logged or shown.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// How long one call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where the API is and who calls it: the CNA's short name, the user and their API key
/// (the `CVE-API-ORG`, `CVE-API-USER` and `CVE-API-KEY` headers).
#[derive(Clone)]
pub struct Account {
    /// e.g. `https://cveawg.mitre.org/api` (production) or the test instance's address.
    pub url: String,
    pub org: String,
    pub user: String,
    pub key: SecretString,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("url", &self.url)
            .field("org", &self.org)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// What went wrong with a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CveServicesError {
    #[error("CVE Services cannot be reached at {url}: {why}")]
    Unreachable { url: String, why: String },
    /// The service refused: its status, its error code and message.
    #[error("CVE Services answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("CVE Services answered something this client does not understand: {0}")]
    Unexpected(String),
}

/// A reserved CVE ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    pub cve_id: String,
    pub year: String,
}

pub struct CveServices {
    account: Account,
    client: reqwest::Client,
}

impl CveServices {
    pub fn new(account: Account) -> Result<CveServices, CveServicesError> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("vulndesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CveServicesError::Unexpected(e.to_string()))?;
        Ok(CveServices { account, client })
    }

    /// Reserves `amount` CVE IDs for `year` (sequential when more than one). The service
    /// may reserve fewer than asked when the CNA's quota runs out (its 206 answer): the
    /// ones it did reserve are returned.
    pub async fn reserve(&self, year: i16, amount: u32) -> Result<Vec<Reserved>, CveServicesError> {
        let mut query = vec![
            ("amount", amount.to_string()),
            ("cve_year", year.to_string()),
            ("short_name", self.account.org.clone()),
        ];
        if amount > 1 {
            query.push(("batch_type", "sequential".into()));
        }
        let answer = self
            .call(reqwest::Method::POST, "/cve-id", &query, None)
            .await?;
        let ids = answer["cve_ids"]
            .as_array()
            .ok_or_else(|| CveServicesError::Unexpected(format!("no cve_ids in {answer}")))?;
        ids.iter()
            .map(
                |id| match (id["cve_id"].as_str(), id["cve_year"].as_str()) {
                    (Some(cve_id), Some(year)) => Ok(Reserved {
                        cve_id: cve_id.to_owned(),
                        year: year.to_owned(),
                    }),
                    _ => Err(CveServicesError::Unexpected(format!(
                        "a CVE ID without its id: {id}"
                    ))),
                },
            )
            .collect()
    }

    /// The state of a CVE ID (`RESERVED`, `PUBLISHED`, `REJECTED`).
    pub async fn state(&self, cve_id: &str) -> Result<String, CveServicesError> {
        let answer = self
            .call(
                reqwest::Method::GET,
                &format!("/cve-id/{cve_id}"),
                &[],
                None,
            )
            .await?;
        answer["state"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| CveServicesError::Unexpected(format!("no state in {answer}")))
    }

    /// Publishes the record of `cve_id` from its CNA container (`containers.cna` of a
    /// CVE JSON 5 record; the service sets its `providerMetadata` anew); `update` replaces
    /// a published one.
    pub async fn publish(
        &self,
        cve_id: &str,
        cna: &Value,
        update: bool,
    ) -> Result<(), CveServicesError> {
        self.send_container(cve_id, "cna", cna, update).await
    }

    /// Rejects `cve_id` with the rejected container (`rejectedReasons`); `update` changes
    /// the reasons of a rejected record.
    pub async fn reject(
        &self,
        cve_id: &str,
        cna: &Value,
        update: bool,
    ) -> Result<(), CveServicesError> {
        self.send_container(cve_id, "reject", cna, update).await
    }

    /// `POST` (or, to update, `PUT`) `/cve/{cve_id}/{what}` with the container.
    async fn send_container(
        &self,
        cve_id: &str,
        what: &str,
        cna: &Value,
        update: bool,
    ) -> Result<(), CveServicesError> {
        let method = if update {
            reqwest::Method::PUT
        } else {
            reqwest::Method::POST
        };
        let body = json!({ "cnaContainer": cna });
        self.call(method, &format!("/cve/{cve_id}/{what}"), &[], Some(body))
            .await
            .map(drop)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Value, CveServicesError> {
        let url = format!("{}{path}", self.account.url.trim_end_matches('/'));
        let mut request = self
            .client
            .request(method, &url)
            .query(query)
            .header("CVE-API-ORG", &self.account.org)
            .header("CVE-API-USER", &self.account.user)
            .header("CVE-API-KEY", self.account.key.expose_secret());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CveServicesError::Unreachable {
                url: self.account.url.clone(),
                why: if e.is_timeout() {
                    "no answer in time".into()
                } else {
                    "cannot connect".into()
                },
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| CveServicesError::Unexpected(e.to_string()))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let message = match (value["error"].as_str(), value["message"].as_str()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (None, Some(message)) | (Some(message), None) => message.to_owned(),
            (None, None) => status.canonical_reason().unwrap_or("an error").to_owned(),
        };
        Err(CveServicesError::Refused {
            status: status.as_u16(),
            message,
        })
    }
}
