//! The one place every request is authorised.
//!
//! Each route is declared with the [`Need`] it has ([`Routes::add`]); the table of routes
//! and needs is what the authorisation matrix test walks, so a route cannot be added
//! without a rule. The [`authorize`] middleware runs on every matched route: it works out
//! who is asking (a session cookie, a team API token, or a reporter's token), which case
//! the address names, asks [`vulndesk_core::access::decide`], checks the CSRF token of
//! state-changing requests made with a session cookie, and hands the handler a [`Caller`].
//! Handlers never decide access themselves.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;
use jiff::Timestamp;
use vulndesk_core::access::{self, CaseRef, Denial, Need, Person, Principal, Scope, Target};
use vulndesk_core::actor::Actor;
use vulndesk_store::{ApiTokenUse, UserRow};

use crate::{ApiError, AppState, error, reporter};
use vulndesk_desk::accounts::{API_TOKEN_PREFIX, secret_hash};

/// The session cookie. `__Host-` would pin it to HTTPS, which a desk on a private
/// network without TLS could not use; `Secure` is added when the server runs behind TLS.
pub const SESSION_COOKIE: &str = "vd_session";
/// The form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form body read to find its CSRF token.
const FORM_LIMIT: usize = 256 * 1024;
/// The largest multipart body (a team message with files) read to find its CSRF token;
/// the handler then holds it to the policy's own attachment limits.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// One route and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    pub method: Method,
    pub path: &'static str,
    pub need: Need,
}

/// The router under construction and its rule table.
pub(crate) struct Routes {
    router: Router<AppState>,
    rules: Vec<RouteRule>,
}

impl Routes {
    pub(crate) fn new() -> Routes {
        Routes {
            router: Router::new(),
            rules: Vec::new(),
        }
    }

    /// Adds `method path`, served by `handler`, allowed to those who meet `need`.
    pub(crate) fn add(
        mut self,
        method: Method,
        path: &'static str,
        need: Need,
        handler: MethodRouter<AppState>,
    ) -> Routes {
        assert!(
            !self
                .rules
                .iter()
                .any(|r| r.method == method && r.path == path),
            "route {method} {path} declared twice"
        );
        self.rules.push(RouteRule { method, path, need });
        self.router = self.router.route(path, handler);
        self
    }

    pub(crate) fn finish(self) -> (Router<AppState>, Vec<RouteRule>) {
        (self.router, self.rules)
    }
}

/// The rule table as the middleware looks it up.
#[derive(Debug, Default)]
pub(crate) struct Rules(HashMap<(Method, String), Need>);

impl Rules {
    pub(crate) fn new(rules: &[RouteRule]) -> Rules {
        Rules(
            rules
                .iter()
                .map(|r| ((r.method.clone(), r.path.to_owned()), r.need))
                .collect(),
        )
    }

    fn need(&self, method: &Method, path: &str) -> Option<Need> {
        // HEAD is answered by the GET handler, so it has the GET rule.
        let method = if method == Method::HEAD {
            Method::GET
        } else {
            method.clone()
        };
        self.0.get(&(method, path.to_owned())).copied()
    }

    /// The methods route `path` answers, for a 405's `Allow`; empty if it is no route.
    fn allowed(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = self
            .0
            .keys()
            .filter(|(_, p)| p == path)
            .map(|(m, _)| m.clone())
            .collect();
        if methods.contains(&Method::GET) {
            methods.push(Method::HEAD);
        }
        methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        methods
    }
}

/// A signed-in person as the handlers see them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserRow,
    pub person: Person,
    /// The session's CSRF token, for the forms on the page; `None` for an API token.
    pub csrf: Option<String>,
    /// The session id's hash, to end this session.
    pub session: Option<String>,
}

/// Who is calling, as decided for this request; put there by [`authorize`] only.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub signed_in: Option<SignedIn>,
    /// The case the address names, when it names one the caller may reach.
    pub case: Option<CaseRef>,
    /// The organisation the address names (`{org}`), for the organisation's own routes.
    pub org: Option<vulndesk_store::Organisation>,
    /// The advisory the address names (`{advisory}`), when the caller may reach it.
    pub advisory: Option<i64>,
    /// The hash of the reporter's token the request presented: the reporter's writes land
    /// only while it is still the case's token (see [`vulndesk_store::Effects`]).
    pub reporter_token: Option<Vec<u8>>,
    /// The invited party whose portal token the request presented, with that token's hash
    /// (empty for a person answering for the party by account).
    pub party: Option<(vulndesk_store::ParticipantRow, Vec<u8>)>,
    /// The party's portal address as requested (`/p/{id}/{token}`, or `/party/cases/{id}`
    /// by account): its links are built from it, since the token itself is never stored.
    pub party_path: Option<String>,
}

impl Caller {
    /// The signed-in person; an internal error if the route let someone else through,
    /// which the rule table makes impossible for routes that need a person.
    pub fn person(&self) -> Result<&SignedIn, ApiError> {
        self.signed_in
            .as_ref()
            .ok_or_else(|| ApiError::Internal("a team route ran without a person".into()))
    }

    /// The organisation the request was authorised for.
    pub fn org(&self) -> Result<&vulndesk_store::Organisation, ApiError> {
        self.org
            .as_ref()
            .ok_or_else(|| ApiError::Internal("an organisation route ran without one".into()))
    }

    /// The advisory the request was authorised for (`{advisory}`), by id.
    pub fn advisory(&self) -> Result<i64, ApiError> {
        self.advisory
            .ok_or_else(|| ApiError::Internal("an advisory route ran without its advisory".into()))
    }

    pub fn case(&self) -> Result<CaseRef, ApiError> {
        self.case
            .ok_or_else(|| ApiError::Internal("a case route ran without its case".into()))
    }

    /// The case the request was authorised for, loaded.
    pub async fn case_row(&self, state: &AppState) -> Result<vulndesk_store::CaseRow, ApiError> {
        state
            .store
            .case(self.case()?.id)
            .await?
            .ok_or(ApiError::NotFound)
    }

    /// How this caller stands on the case of the request.
    pub fn standing(&self) -> Option<access::Standing> {
        let person = &self.signed_in.as_ref()?.person;
        access::standing(person, self.case?)
    }

    /// The actor recorded with events this caller causes.
    pub fn actor(&self) -> Actor {
        match (&self.principal, &self.signed_in) {
            (_, Some(s)) => Actor::User(s.user.id),
            (Principal::Reporter { .. }, None) => Actor::Reporter,
            (Principal::Party { .. }, None) => match &self.party {
                Some((p, _)) => Actor::Party(p.party.clone().map(|(_, s)| s).unwrap_or_default()),
                None => Actor::Anonymous,
            },
            _ => Actor::Anonymous,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, ApiError> {
        // Absent only if a handler is mounted outside `Routes`: fail closed.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("no authorisation decision for this route".into()))
    }
}

/// The session cookie's value, if the request has one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The person behind a live, fully signed-in session or a team API token.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>, ApiError> {
    let now = Timestamp::now();
    if let Some(token) = reporter::bearer(headers).filter(|t| t.starts_with(API_TOKEN_PREFIX)) {
        let row = match state.store.use_api_token(&secret_hash(token), now).await? {
            Some(ApiTokenUse::Live(row)) => row,
            Some(ApiTokenUse::Expired { expired_at }) => {
                return Err(ApiError::TokenExpired { expired_at });
            }
            None => return Ok(None),
        };
        let scopes = row.scopes.iter().filter_map(|s| Scope::parse(s)).collect();
        return load_person(state, row.user_id, Some(scopes), None, None).await;
    }
    let Some(cookie) = session_cookie(headers) else {
        return Ok(None);
    };
    let id_hash = secret_hash(&cookie);
    match state.store.session(&id_hash, now).await? {
        Some(s) if crate::signin::Stage::of(&s) == Some(crate::signin::Stage::Complete) => {
            load_person(state, s.user_id, None, Some(s.csrf_token), Some(id_hash)).await
        }
        _ => Ok(None),
    }
}

async fn load_person(
    state: &AppState,
    user_id: i64,
    scopes: Option<Vec<Scope>>,
    csrf: Option<String>,
    session: Option<String>,
) -> Result<Option<SignedIn>, ApiError> {
    let Some(user) = state.store.user(user_id).await? else {
        return Ok(None);
    };
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    let person = Person {
        scopes,
        ..state.desk.person(&user).await?
    };
    Ok(Some(SignedIn {
        user,
        person,
        csrf,
        session,
    }))
}

/// The case the address names, and the hash of the reporter's token that reached it when
/// the route is a reporter's.
async fn target(
    state: &AppState,
    need: Need,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(Option<CaseRef>, Option<Vec<u8>>), ApiError> {
    let Some(id) = params.get("id") else {
        return Ok((None, None));
    };
    if need == Need::Reporter {
        let token = params
            .get("token")
            .map(String::as_str)
            .or_else(|| reporter::bearer(headers));
        return match reporter::case(state, id, token).await {
            Ok(case) => {
                let org_id = state.store.case_org(case.id).await?.unwrap_or_default();
                Ok((
                    Some(CaseRef {
                        id: case.id,
                        org_id,
                    }),
                    token.map(reporter::token_hash),
                ))
            }
            Err(ApiError::NotFound) => Ok((None, None)),
            Err(e) => Err(e),
        };
    }
    let Ok(id) = id.parse::<i64>() else {
        return Ok((None, None));
    };
    let org = state.store.case_org(id).await?;
    Ok((org.map(|org_id| CaseRef { id, org_id }), None))
}

/// The case a party's portal address names and the party whose token it carries; a wrong
/// token or case looks like nothing at all.
async fn party_target(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<
    (
        Option<CaseRef>,
        Option<(vulndesk_store::ParticipantRow, Vec<u8>)>,
    ),
    ApiError,
> {
    let (Some(id), Some(token)) = (params.get("id"), params.get("token")) else {
        return Ok((None, None));
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok((None, None));
    };
    let hash = vulndesk_desk::reporter_token::token_hash(token);
    let Some(participant) = state.store.party_by_token(id, &hash).await? else {
        return Ok((None, None));
    };
    let Some(org_id) = state.store.case_org(id).await? else {
        return Ok((None, None));
    };
    Ok((Some(CaseRef { id, org_id }), Some((participant, hash))))
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware: decide, check CSRF, and pass the [`Caller`] on, or answer the refusal.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    matched: MatchedPath,
    params: RawPathParams,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match decide(&state, &matched, &params, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal.answer(&path),
    }
}

/// Why a request does not reach its handler.
enum Refusal {
    Denied(Denial),
    Csrf,
    Failed(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::Failed(e)
    }
}

impl Refusal {
    fn answer(self, path: &str) -> Response {
        let api = path.starts_with("/api/");
        match self {
            Refusal::Denied(Denial::SignIn) if api => {
                let mut response = error::answer(path, ApiError::SignInRequired);
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            Refusal::Denied(Denial::SignIn) => {
                let next: String = next_param(path);
                Redirect::to(&format!("/signin?next={next}")).into_response()
            }
            Refusal::Denied(Denial::Hidden) => error::answer(path, ApiError::NotFound),
            Refusal::Denied(Denial::Forbidden) => error::answer(path, ApiError::Forbidden),
            Refusal::Csrf => error::answer(path, ApiError::CsrfRejected),
            Refusal::Failed(e) => error::answer(path, e),
        }
    }
}

/// A path percent-encoded for `?next=`.
pub(crate) fn next_param(path: &str) -> String {
    serde_urlencoded::to_string([("", path)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

async fn decide(
    state: &AppState,
    matched: &MatchedPath,
    params: &RawPathParams,
    request: Request,
) -> Result<Request, Refusal> {
    let Some(need) = state.rules.need(request.method(), matched.as_str()) else {
        // The router matched the path for some method: this one is simply not served.
        // Answered here, before any handler or method fallback could run unauthorised.
        let allowed = state.rules.allowed(matched.as_str());
        if allowed.is_empty() {
            return Err(
                ApiError::Internal(format!("no access rule for {}", matched.as_str())).into(),
            );
        }
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ApiError::MethodNotAllowed { allow }.into());
    };
    let params: HashMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let (case, reporter_token, party) = if need == Need::Party {
        let (case, party) = party_target(state, &params).await?;
        (case, None, party)
    } else {
        let (case, token) = target(state, need, &params, request.headers()).await?;
        (case, token, None)
    };
    let org = match need {
        Need::OrgTeam | Need::OrgOfficer => match params.get("org") {
            Some(slug) => state
                .store
                .organisation_by_slug(slug)
                .await
                .map_err(ApiError::from)?,
            None => None,
        },
        _ => None,
    };
    let advisory = match params.get("advisory").map(|a| a.parse::<i64>()) {
        Some(Ok(id)) => state
            .desk
            .advisory_ref(id)
            .await
            .map_err(ApiError::from)?
            .map(|a| (id, a)),
        _ => None,
    };
    let target = match (&org, case, &advisory) {
        (Some(org), _, _) => Some(Target::Org(org.id)),
        (None, _, Some((_, a))) => Some(Target::Advisory(a.clone())),
        (None, Some(case), None) => Some(Target::Case(case)),
        (None, None, None) => None,
    };
    let reporter_of = reporter_token.as_ref().and(case.map(|c| c.id));
    let mut signed_in = if matches!(need, Need::Reporter | Need::Party | Need::Public) {
        // Reporter and public routes do not look at sessions: a signed-in teammate
        // reading a portal link is a reporter there, nothing more.
        None
    } else {
        signed_in(state, request.headers()).await?
    };
    if let (Need::PartyAccount, Some(s)) = (need, signed_in.as_mut()) {
        s.person.party_cases = state
            .desk
            .party_cases(s.user.id)
            .await
            .map_err(ApiError::from)?;
    }
    let principal = match (&signed_in, reporter_of) {
        _ if party.is_some() => Principal::Party {
            case_id: case.map_or(0, |c| c.id),
        },
        (_, Some(case_id)) => Principal::Reporter { case_id },
        (Some(s), None) => Principal::Person(s.person.clone()),
        (None, None) => Principal::Anonymous,
    };
    access::decide(&principal, need, target).map_err(Refusal::Denied)?;
    // A person answering for a party reaches its portal as that party.
    let (party, party_path) = match (need, &signed_in, case) {
        (Need::PartyAccount, Some(s), Some(case)) => {
            let participant = state
                .store
                .party_of_account(case.id, s.user.id)
                .await
                .map_err(ApiError::from)?
                .ok_or(Refusal::Denied(Denial::Hidden))?;
            (
                Some((participant, Vec::new())),
                Some(format!("/party/cases/{}", case.id)),
            )
        }
        _ => {
            let path = party.as_ref().and_then(|_| {
                let (id, token) = (params.get("id")?, params.get("token")?);
                Some(format!("/p/{id}/{token}"))
            });
            (party, path)
        }
    };
    let mut request = request;
    if changes_state(request.method())
        && let Some(csrf) = signed_in.as_ref().and_then(|s| s.csrf.clone())
    {
        request = check_csrf(request, &csrf).await?;
    }
    request.extensions_mut().insert(Caller {
        principal,
        signed_in,
        case,
        org,
        advisory: advisory.map(|(id, _)| id),
        reporter_token,
        party_path,
        party,
    });
    Ok(request)
}

/// A request made with a session cookie must carry the session's CSRF token, in the
/// `x-csrf-token` header or, for a form, its `csrf` field. (Requests with an API token
/// carry no cookie a browser would add by itself, so they need none.)
async fn check_csrf(request: Request, expected: &str) -> Result<Request, Refusal> {
    let header = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(given) = header {
        return if constant_time_eq::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(request)
        } else {
            Err(Refusal::Csrf)
        };
    }
    let media = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let multipart = media.starts_with("multipart/form-data");
    if !multipart && !media.starts_with("application/x-www-form-urlencoded") {
        return Err(Refusal::Csrf);
    }
    let limit = if multipart { UPLOAD_LIMIT } else { FORM_LIMIT };
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit: limit as u64,
        })?;
    let given = if multipart {
        multipart_field(&parts, &bytes, CSRF_FIELD).await
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|fields| fields.into_iter().find(|(k, _)| k == CSRF_FIELD))
            .map(|(_, v)| v)
    };
    match given {
        Some(given)
            if constant_time_eq::constant_time_eq(given.as_bytes(), expected.as_bytes()) =>
        {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(Refusal::Csrf),
    }
}

/// The text of field `name` in a buffered multipart body.
async fn multipart_field(
    parts: &axum::http::request::Parts,
    bytes: &axum::body::Bytes,
    name: &str,
) -> Option<String> {
    let mut copy = Request::new(Body::from(bytes.clone()));
    *copy.headers_mut() = parts.headers.clone();
    let mut form = axum::extract::Multipart::from_request(copy, &())
        .await
        .ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}
pub(crate) type SharedRules = Arc<Rules>;
