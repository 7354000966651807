//! HTTPS calls to the spine's sign-in API, trusting only the configured CA, with timeouts
//! and bounded, jittered retries when the spine says it is busy (429/503).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rand::Rng;
use reqwest::{Method, RequestBuilder, StatusCode};
use scr_model::access::VOLUME_WARNING_HEADER;
use scr_model::fhir::AlertItem;
use scr_model::fhir::{self, DocumentPatient, PatientSummaryDocument};
use scr_model::registration::{
    CardList, CardRevocation, CardRevoked, CardView, NewRoleProfile, NewUser, RegisteredUser,
    RoleProfileAdded, RoleProfileRemoved, UserList, UserRef, UserRegistered, UserRoleProfiles,
};
use scr_model::signing::{self, SIGN_IN_NONCE_LEN};
use scr_model::{AccessRequest, AuditAction, AuditRecord, ConsentRecord, NhsNumber, VolumeWarning};
use scr_model::{ErrorCode, OfflineView, RoleProfile};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::{ClientError, SpineCode};

/// The largest response body read (a `$summary` is capped at 4 MiB by the spine).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// The session token. In memory only; `Debug` does not show it; wiped when the last copy goes.
#[derive(Clone)]
pub struct SessionToken(std::sync::Arc<Zeroizing<String>>);

impl SessionToken {
    pub fn new(token: String) -> SessionToken {
        SessionToken(std::sync::Arc::new(Zeroizing::new(token)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<hidden>)")
    }
}

#[derive(Clone, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
    /// Retries after 429/503 (so at most this + 1 attempts).
    pub retries: u32,
    /// First back-off; doubled each retry, with full jitter.
    pub backoff: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            request: scr_model::timing::CLIENT_REQUEST_TIMEOUT,
            retries: 3,
            backoff: Duration::from_millis(200),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub user_id: String,
    pub name: String,
}

/// A trace by demographics, as the spine's `Patient` search takes it. Blank values are
/// left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatientSearch {
    pub family: String,
    pub given: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub gender: Option<String>,
    pub postcode: Option<String>,
}

impl PatientSearch {
    /// The `Patient` search's query string: blank values left out, fuzzy matching, at
    /// most ten answers. form_urlencoded (the url crate's) escapes the values, so an
    /// apostrophe or a space in a name cannot break the query.
    pub fn query(&self) -> String {
        let pairs = [
            ("family", Some(self.family.as_str())),
            ("given", self.given.as_deref()),
            ("birthdate", Some(self.birth_date.as_str())),
            ("gender", self.gender.as_deref()),
            ("address-postalcode", self.postcode.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.map(str::trim).filter(|v| !v.is_empty())?)))
        .chain([("_fuzzy-match", "true"), ("_max-results", "10")]);
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }
}

/// Which of a privacy officer's alerts: those not reviewed yet, those reviewed, or all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AlertStatus {
    #[default]
    Open,
    Reviewed,
    All,
}

impl AlertStatus {
    fn code(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Reviewed => "reviewed",
            AlertStatus::All => "all",
        }
    }
}

/// The trimmed value, or nothing when it is blank.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `AuditEvent/$alerts`'s search: the alerts of the officer's organisations, narrowed by
/// status, user, patient, organisation and the days they were raised on (both inclusive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertQuery {
    pub status: AlertStatus,
    /// The SDS user id of whoever raised them.
    pub agent: Option<String>,
    pub patient: Option<NhsNumber>,
    /// An ODS code among the officer's organisations.
    pub organization: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// At most this many (the spine's default is 100, its most 1000).
    pub count: Option<u32>,
}

impl AlertQuery {
    /// The query string, escaped by form_urlencoded (the url crate's), blank values left out.
    pub fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("status", self.status.code());
        if let Some(agent) = given(&self.agent) {
            q.append_pair("agent", agent);
        }
        if let Some(nhs) = self.patient {
            q.append_pair("patient", &nhs.as_digits());
        }
        if let Some(org) = given(&self.organization) {
            q.append_pair("organization", org);
        }
        if let Some(from) = self.from {
            q.append_pair("date", &format!("ge{}", from.format("%Y-%m-%d")));
        }
        if let Some(to) = self.to {
            q.append_pair("date", &format!("le{}", to.format("%Y-%m-%d")));
        }
        if let Some(n) = self.count {
            q.append_pair("_count", &n.to_string());
        }
        q.finish()
    }
}

/// `AuditEvent`'s search: the trail of the officer's organisations, narrowed by patient,
/// user, action, organisation and a time window (both ends inclusive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrailQuery {
    pub patient: Option<NhsNumber>,
    pub agent: Option<String>,
    pub action: Option<AuditAction>,
    pub organization: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub count: Option<u32>,
}

impl TrailQuery {
    /// The query string, as [`AlertQuery::query`]; times to the millisecond, in UTC.
    pub fn query(&self) -> String {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(nhs) = self.patient {
            q.append_pair("patient", &nhs.as_digits());
        }
        if let Some(agent) = given(&self.agent) {
            q.append_pair("agent", agent);
        }
        if let Some(action) = self.action {
            q.append_pair("action", action.code());
        }
        if let Some(org) = given(&self.organization) {
            q.append_pair("organization", org);
        }
        if let Some(since) = self.since {
            q.append_pair("date", &format!("ge{}", at(since)));
        }
        if let Some(until) = self.until {
            q.append_pair("date", &format!("le{}", at(until)));
        }
        if let Some(n) = self.count {
            q.append_pair("_count", &n.to_string());
        }
        q.finish()
    }
}

/// A `$summary` as fetched: parsed, and the bytes the spine sent.
pub struct FetchedSummary {
    pub document: PatientSummaryDocument,
    pub bytes: Vec<u8>,
    /// The spine served it past a soft volume limit.
    pub volume_warning: Option<VolumeWarning>,
}

/// The spine answered, but what it sent is not a readable FHIR resource of the kind asked.
fn unreadable(e: fhir::FhirError) -> ClientError {
    ClientError::Unreadable(e.to_string())
}

pub struct Challenge {
    pub challenge_id: String,
    pub nonce: [u8; SIGN_IN_NONCE_LEN],
}

impl Challenge {
    /// What the card signs to answer this challenge from the spine at `origin`
    /// ([`SpineClient::origin`]): labelled for sign-in, so it is no other kind of signature.
    pub fn message(&self, origin: &str) -> Vec<u8> {
        signing::sign_in_message(origin, &self.challenge_id, &self.nonce)
    }
}

pub struct NewSession {
    pub token: SessionToken,
    pub user: User,
    pub role_profiles: Vec<RoleProfile>,
    pub expires_at: String,
    pub idle_timeout_secs: u64,
}

/// What the spine did with a report of offline views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfflineReport {
    /// Views recorded in the audit trail now.
    pub recorded: usize,
    /// Views the spine had already recorded (sent before, e.g. by an earlier try).
    pub already_recorded: usize,
}

#[derive(Clone)]
pub struct SpineClient {
    http: reqwest::Client,
    base: String,
    /// `https://host[:port]` of `base`: what sign-in signatures name.
    origin: String,
    timeouts: Timeouts,
}

impl SpineClient {
    /// A client of the spine at `base_url` that trusts `ca_pem` and nothing else.
    pub fn new(
        base_url: &str,
        ca_pem: &[u8],
        timeouts: Timeouts,
    ) -> Result<SpineClient, ClientError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !base.starts_with("https://") {
            return Err(ClientError::Config(format!(
                "the spine URL must be https:// (got {base})"
            )));
        }
        let origin = reqwest::Url::parse(&base)
            .ok()
            .and_then(|url| {
                let port = url.port_or_known_default()?;
                Some(signing::https_origin(url.host_str()?, port))
            })
            .ok_or_else(|| ClientError::Config(format!("the spine URL {base} is not a URL")))?;
        let ca = reqwest::Certificate::from_pem(ca_pem)
            .map_err(|_| ClientError::Config("the CA file is not a PEM certificate".into()))?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .https_only(true)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            // Drop idle connections before the spine does (see scr_model::timing).
            .pool_idle_timeout(scr_model::timing::CLIENT_POOL_IDLE)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClientError::Config(format!("HTTP client: {e}")))?;
        Ok(SpineClient {
            http,
            base,
            origin,
            timeouts,
        })
    }

    /// As [`SpineClient::new`], reading the CA from a file.
    pub fn with_ca_file(
        base_url: &str,
        ca_file: &std::path::Path,
        timeouts: Timeouts,
    ) -> Result<SpineClient, ClientError> {
        let pem = std::fs::read(ca_file).map_err(|e| {
            ClientError::Config(format!(
                "cannot read the CA file {}: {e}",
                ca_file.display()
            ))
        })?;
        SpineClient::new(base_url, &pem, timeouts)
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The spine's origin as this client reaches it, e.g. `https://localhost:8443`. The card's
    /// sign-in signature names it, so a signature given to one service is no use at another.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn request(&self, method: Method, path: &str, token: Option<&SessionToken>) -> RequestBuilder {
        let mut builder = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            builder = builder.bearer_auth(token.expose());
        }
        builder
    }

    /// Sends a request built by `make`, retrying (at most `timeouts.retries` times) while
    /// the spine answers 429, or 503 when `retry_unavailable` is set. Connection failures
    /// are not retried here: the caller reports them at once.
    async fn execute(
        &self,
        make: impl Fn() -> RequestBuilder,
        retry_unavailable: bool,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let (status, _, body) = self
            .execute_keeping_headers(make, retry_unavailable)
            .await?;
        Ok((status, body))
    }

    /// [`Self::execute`], keeping the answer's headers.
    async fn execute_keeping_headers(
        &self,
        make: impl Fn() -> RequestBuilder,
        retry_unavailable: bool,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Vec<u8>), ClientError> {
        let mut attempt = 0;
        loop {
            let response = make().send().await.map_err(|e| self.classify(e))?;
            let status = response.status();
            let busy = status == StatusCode::TOO_MANY_REQUESTS
                || (retry_unavailable && status == StatusCode::SERVICE_UNAVAILABLE);
            if busy && attempt < self.timeouts.retries {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s.min(2)));
                let ceiling = self.timeouts.backoff * 2u32.pow(attempt);
                let jittered = rand::thread_rng().gen_range(Duration::ZERO..=ceiling);
                tokio::time::sleep(retry_after.unwrap_or(jittered)).await;
                attempt += 1;
                continue;
            }
            let headers = response.headers().clone();
            let body = read_capped(response).await.map_err(|e| self.classify(e))?;
            return Ok((status, headers, body));
        }
    }

    fn classify(&self, error: reqwest::Error) -> ClientError {
        if error.is_timeout() {
            return ClientError::Timeout;
        }
        if let Some(tls) = tls_cause(&error) {
            return ClientError::Tls(tls);
        }
        if error.is_connect() || error.is_request() {
            return ClientError::SpineUnreachable(self.base.clone());
        }
        ClientError::Protocol(error.to_string())
    }

    /// `POST /auth/challenge` with the card's authentication certificate.
    pub async fn challenge(&self, certificate_der: &[u8]) -> Result<Challenge, ClientError> {
        let body = json!({ "certificate": STANDARD.encode(certificate_der) });
        let (status, bytes) = self
            .execute(
                || {
                    self.request(Method::POST, "/auth/challenge", None)
                        .json(&body)
                },
                true,
            )
            .await?;
        let value = expect_status(status, &bytes, StatusCode::OK)?;
        let challenge_id = string_field(&value, "challenge_id")?;
        // The spine's ids are 24 base64 characters; anything long or odd is not its answer.
        if challenge_id.is_empty()
            || challenge_id.len() > 128
            || !challenge_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ClientError::Protocol(
                "a challenge id that is not one".into(),
            ));
        }
        let nonce = STANDARD
            .decode(string_field(&value, "nonce")?)
            .map_err(|_| ClientError::Protocol("the nonce is not base64".into()))?;
        // Exactly 32 bytes: a spine must not choose a long, shaped message for the card.
        let nonce: [u8; SIGN_IN_NONCE_LEN] = nonce.try_into().map_err(|_| {
            ClientError::Protocol(format!(
                "the sign-in nonce is not {SIGN_IN_NONCE_LEN} bytes"
            ))
        })?;
        Ok(Challenge {
            challenge_id,
            nonce,
        })
    }

    /// `POST /auth/session` with the card's signature over [`Challenge::message`]. A 503 is not retried:
    /// the challenge may already be spent, and a new one needs the card again.
    pub async fn create_session(
        &self,
        challenge_id: &str,
        signature_der: &[u8],
    ) -> Result<NewSession, ClientError> {
        let body =
            json!({ "challenge_id": challenge_id, "signature": STANDARD.encode(signature_der) });
        let (status, bytes) = self
            .execute(
                || {
                    self.request(Method::POST, "/auth/session", None)
                        .json(&body)
                },
                false,
            )
            .await?;
        let value = expect_status(status, &bytes, StatusCode::CREATED)?;
        let token = SessionToken::new(string_field(&value, "session_token")?);
        let user: User = serde_json::from_value(value["user"].clone())
            .map_err(|_| ClientError::Protocol("no user in the session".into()))?;
        let role_profiles: Vec<RoleProfile> =
            serde_json::from_value(value["role_profiles"].clone())
                .map_err(|_| ClientError::Protocol("role profiles not understood".into()))?;
        Ok(NewSession {
            token,
            user,
            role_profiles,
            expires_at: string_field(&value, "expires_at")?,
            idle_timeout_secs: value["idle_timeout_secs"].as_u64().unwrap_or(900),
        })
    }

    /// `PUT /auth/session/role`: every later call acts in this role.
    pub async fn select_role(
        &self,
        token: &SessionToken,
        role_profile_id: &str,
    ) -> Result<RoleProfile, ClientError> {
        let body = json!({ "role_profile_id": role_profile_id });
        let (status, bytes) = self
            .execute(
                || {
                    self.request(Method::PUT, "/auth/session/role", Some(token))
                        .json(&body)
                },
                true,
            )
            .await?;
        let value = expect_status(status, &bytes, StatusCode::OK)?;
        serde_json::from_value(value["role_profile"].clone())
            .map_err(|_| ClientError::Protocol("role profile not understood".into()))
    }

    /// `DELETE /auth/session`. Uses a short deadline: it runs when a card is pulled, and
    /// the local session is already over by then.
    pub async fn end_session(&self, token: &SessionToken) -> Result<(), ClientError> {
        let (status, bytes) = self
            .execute(
                || {
                    self.request(Method::DELETE, "/auth/session", Some(token))
                        .timeout(Duration::from_secs(3))
                },
                true,
            )
            .await?;
        match status {
            StatusCode::NO_CONTENT => Ok(()),
            _ => expect_status(status, &bytes, StatusCode::NO_CONTENT).map(|_| ()),
        }
    }

    /// `POST /auth/session/keep-alive`: the user is still there, so the spine starts the
    /// session's idle clock again (it does not extend the absolute expiry). An ended or
    /// expired session is `SessionEnded`.
    pub async fn keep_alive(&self, token: &SessionToken) -> Result<(), ClientError> {
        let (status, bytes) = self
            .execute(
                || self.request(Method::POST, "/auth/session/keep-alive", Some(token)),
                true,
            )
            .await?;
        expect_status(status, &bytes, StatusCode::NO_CONTENT).map(|_| ())
    }

    /// A FHIR read (`GET /FHIR/R4/...`) with the session token; returns the JSON resource.
    pub async fn fhir_get(
        &self,
        token: &SessionToken,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<Value, ClientError> {
        let bytes = self.fhir_get_raw(token, path_and_query, headers).await?;
        serde_json::from_slice(&bytes)
            .map_err(|_| ClientError::Protocol("the resource is not JSON".into()))
    }

    /// As [`SpineClient::fhir_get`], returning the body as received (for the FHIR parser).
    pub async fn fhir_get_raw(
        &self,
        token: &SessionToken,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<Vec<u8>, ClientError> {
        Ok(self
            .fhir_get_answer(token, path_and_query, headers)
            .await?
            .1)
    }

    /// [`Self::fhir_get_raw`], with the answer's headers.
    async fn fhir_get_answer(
        &self,
        token: &SessionToken,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<(reqwest::header::HeaderMap, Vec<u8>), ClientError> {
        let path = format!("/FHIR/R4/{}", path_and_query.trim_start_matches('/'));
        let (status, answer_headers, bytes) = self
            .execute_keeping_headers(
                || {
                    let mut b = self
                        .request(Method::GET, &path, Some(token))
                        .header(reqwest::header::ACCEPT, "application/fhir+json");
                    for (k, v) in headers {
                        b = b.header(*k, *v);
                    }
                    b
                },
                true,
            )
            .await?;
        if status == StatusCode::OK {
            if bytes.len() > MAX_RESPONSE_BYTES {
                return Err(ClientError::Protocol("the answer is too large".into()));
            }
            return Ok((answer_headers, bytes));
        }
        expect_status(status, &bytes, StatusCode::OK).map(|_| (answer_headers, Vec::new()))
    }

    /// `GET Patient/{nhs}`: the patient's demographics (PDS).
    pub async fn patient(
        &self,
        token: &SessionToken,
        nhs: NhsNumber,
    ) -> Result<DocumentPatient, ClientError> {
        let bytes = self
            .fhir_get_raw(token, &format!("Patient/{}", nhs.as_digits()), &[])
            .await?;
        fhir::parse_patient(&bytes).map_err(unreadable)
    }

    /// `GET Patient?…`: a trace by demographics (family name and birth date at least), at
    /// most ten matches, fuzzy, each with the spine's match score.
    pub async fn trace(
        &self,
        token: &SessionToken,
        search: &PatientSearch,
    ) -> Result<Vec<(DocumentPatient, Option<f64>)>, ClientError> {
        let query = search.query();
        let bytes = self
            .fhir_get_raw(token, &format!("Patient?{query}"), &[])
            .await?;
        fhir::parse_patient_searchset(&bytes).map_err(unreadable)
    }

    /// `GET Patient/{nhs}/$summary` with the reason for looking: the patient summary
    /// document, parsed, and its bytes as received (what the offline cache keeps).
    pub async fn summary(
        &self,
        token: &SessionToken,
        nhs: NhsNumber,
        access: &AccessRequest,
    ) -> Result<FetchedSummary, ClientError> {
        let said = access.headers();
        let said: Vec<(&str, &str)> = said.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (headers, bytes) = self
            .fhir_get_answer(
                token,
                &format!("Patient/{}/$summary", nhs.as_digits()),
                &said,
            )
            .await?;
        let document = fhir::parse_document(&bytes).map_err(unreadable)?;
        let volume_warning = headers
            .get(VOLUME_WARNING_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(VolumeWarning::from_header);
        Ok(FetchedSummary {
            document,
            bytes,
            volume_warning,
        })
    }

    /// `POST Patient/{nhs}/$cp-attendance`: the user's "yes, the child is attending an
    /// unscheduled care setting", asked before a summary showing a child protection plan.
    /// The spine records it and notifies the organisation responsible for the child. Busy
    /// answers are retried: nothing was recorded for them, and a second record of the same
    /// attendance would only repeat the notice.
    pub async fn record_cp_attendance(
        &self,
        token: &SessionToken,
        nhs: NhsNumber,
    ) -> Result<(), ClientError> {
        self.record_on_patient(token, nhs, "cp-attendance").await
    }

    /// `POST Patient/{nhs}/${operation}` with no body: an operation that only records
    /// something about the patient, answered 200. Busy answers are retried.
    async fn record_on_patient(
        &self,
        token: &SessionToken,
        nhs: NhsNumber,
        operation: &str,
    ) -> Result<(), ClientError> {
        let path = format!("/FHIR/R4/Patient/{}/${operation}", nhs.as_digits());
        let (status, bytes) = self
            .execute(
                || {
                    self.request(Method::POST, &path, Some(token))
                        .header(reqwest::header::ACCEPT, "application/fhir+json")
                },
                true,
            )
            .await?;
        expect_status(status, &bytes, StatusCode::OK).map(|_| ())
    }

    /// `POST Patient/{nhs}/$print-summary`: the user is about to print (or save as PDF) the
    /// summary on screen; the spine records it first. Busy answers are retried: a second
    /// record of the same printing only repeats it.
    pub async fn record_print(
        &self,
        token: &SessionToken,
        nhs: NhsNumber,
    ) -> Result<(), ClientError> {
        self.record_on_patient(token, nhs, "print-summary").await
    }

    /// `GET Consent?patient={nhs}`: the patient's sharing preference, if one is recorded.
    pub async fn consent(
        &self,
        token: &SessionToken,
        nhs: NhsNumber,
    ) -> Result<Option<ConsentRecord>, ClientError> {
        let bytes = self
            .fhir_get_raw(token, &format!("Consent?patient={}", nhs.as_digits()), &[])
            .await?;
        fhir::parse_consent_searchset(&bytes).map_err(unreadable)
    }

    /// `GET AuditEvent/$alerts?…`: a privacy officer's alerts, newest first.
    pub async fn alerts(
        &self,
        token: &SessionToken,
        query: &AlertQuery,
    ) -> Result<Vec<AlertItem>, ClientError> {
        let bytes = self
            .fhir_get_raw(token, &format!("AuditEvent/$alerts?{}", query.query()), &[])
            .await?;
        fhir::parse_alert_searchset(&bytes).map_err(unreadable)
    }

    /// `GET AuditEvent?…`: the trail of the officer's organisations, newest first.
    pub async fn audit_trail(
        &self,
        token: &SessionToken,
        query: &TrailQuery,
    ) -> Result<Vec<AuditRecord>, ClientError> {
        let bytes = self
            .fhir_get_raw(token, &format!("AuditEvent?{}", query.query()), &[])
            .await?;
        fhir::parse_audit_searchset(&bytes).map_err(unreadable)
    }

    /// `POST AuditEvent/{id}/$review`: marks the alerts the entry `id` (`audit-N`) raised as
    /// reviewed, with the officer's note. The spine decides whether a note is needed, how
    /// long it may be, and whether the alert is this officer's to review.
    pub async fn review_alert(
        &self,
        token: &SessionToken,
        id: &str,
        note: &str,
    ) -> Result<(), ClientError> {
        // The id goes in as one escaped path segment: whatever it holds, it names no other
        // route.
        let mut url = reqwest::Url::parse(&self.base).map_err(|_| {
            ClientError::Config(format!("the spine URL {} is not a URL", self.base))
        })?;
        url.path_segments_mut()
            .map_err(|_| ClientError::Config(format!("the spine URL {} has no path", self.base)))?
            .pop_if_empty()
            .extend(["FHIR", "R4", "AuditEvent", id, "$review"]);
        let body = json!({
            "resourceType": "Parameters",
            "parameter": [{ "name": "note", "valueString": note }]
        });
        let (status, bytes) = self
            .execute(
                || {
                    self.http
                        .post(url.clone())
                        .bearer_auth(token.expose())
                        .header(reqwest::header::ACCEPT, "application/fhir+json")
                        // Before .json, which then keeps it rather than application/json.
                        .header(reqwest::header::CONTENT_TYPE, "application/fhir+json")
                        .json(&body)
                },
                true,
            )
            .await?;
        expect_status(status, &bytes, StatusCode::OK).map(|_| ())
    }

    /// `POST /FHIR/R4/AuditEvent`: reports views of offline copies made while offline, so
    /// the spine's audit trail shows them. Idempotent (the spine records each view id once),
    /// so a report that failed or timed out can simply be sent again; busy answers are
    /// retried here. A long queue goes in several Bundles of at most
    /// [`fhir::MAX_OFFLINE_VIEWS`]; on an error, the Bundles before it are recorded and
    /// re-sending all of them is safe.
    pub async fn report_offline_views(
        &self,
        token: &SessionToken,
        views: &[OfflineView],
    ) -> Result<OfflineReport, ClientError> {
        let mut report = OfflineReport::default();
        for chunk in views.chunks(fhir::MAX_OFFLINE_VIEWS) {
            let body = serde_json::to_vec(&fhir::offline_views_bundle(chunk))
                .map_err(|e| ClientError::Protocol(format!("the report cannot be written: {e}")))?;
            let (status, bytes) = self
                .execute(
                    || {
                        self.request(Method::POST, "/FHIR/R4/AuditEvent", Some(token))
                            .header(reqwest::header::CONTENT_TYPE, "application/fhir+json")
                            .header(reqwest::header::ACCEPT, "application/fhir+json")
                            .body(body.clone())
                    },
                    true,
                )
                .await?;
            let value = match expect_status(status, &bytes, StatusCode::OK) {
                Ok(v) => v,
                // No session the spine knows (or it ended): sign in again, then re-send.
                Err(ClientError::Spine { status: 401, .. }) => {
                    return Err(ClientError::SessionEnded)
                }
                Err(e) => return Err(e),
            };
            let (recorded, already_recorded) =
                fhir::parse_offline_views_outcome(&value).map_err(|_| {
                    ClientError::Protocol(
                        "the answer to the offline views is not understood".into(),
                    )
                })?;
            report.recorded += recorded;
            report.already_recorded += already_recorded;
        }
        Ok(report)
    }
}

/// A path under `/ra/`, each segment escaped (a user id with a `/` or `?` in it stays one
/// segment of the route it was meant for). A URL parser resolves `.` and `..` segments,
/// escaped or not, so those (and empty ones) are refused rather than sent to another route.
fn ra_path(segments: &[&str]) -> Result<String, ClientError> {
    /// Everything but unreserved characters (RFC 3986) is escaped.
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut path = String::from("/ra");
    for s in segments {
        if matches!(*s, "" | "." | "..") {
            return Err(ClientError::InvalidInput(format!(
                "{s:?} is not an id the registration authority's routes take"
            )));
        }
        path.push('/');
        path.extend(percent_encoding::utf8_percent_encode(s, SEGMENT));
    }
    Ok(path)
}

/// The registration authority's calls (`/ra/…`, for a session whose role holds the local
/// activity `RA-MANAGE`), with the bodies and answers of `scr_model::registration`. The
/// spine's refusals come back as `ClientError::Spine` with its code and words
/// (`USER_EXISTS`, `OWN_ROLE_CHANGE`, …); an ended or expired session is `SessionEnded`.
/// Reads retry busy answers (429, 503); changes only 429, which the spine sends before doing
/// anything: a 503 may come from the request deadline after the change committed.
impl SpineClient {
    async fn ra_call<T: DeserializeOwned>(
        &self,
        token: &SessionToken,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        expected: StatusCode,
    ) -> Result<T, ClientError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Protocol(format!("the request cannot be written: {e}")))?;
        let read = method == Method::GET;
        let (status, bytes) = self
            .execute(
                || {
                    let b = self.request(method.clone(), path, Some(token));
                    match &body {
                        Some(body) => b
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(body.clone()),
                        None => b,
                    }
                },
                read,
            )
            .await?;
        let value = expect_status(status, &bytes, expected)?;
        serde_json::from_value(value).map_err(|_| {
            ClientError::Protocol("the registration authority's answer is not understood".into())
        })
    }

    /// `GET /ra/users`: every registered user, with how many role profiles and active cards
    /// each holds.
    pub async fn ra_users(&self, token: &SessionToken) -> Result<Vec<RegisteredUser>, ClientError> {
        let list: UserList = self
            .ra_call(token, Method::GET, "/ra/users", None::<&()>, StatusCode::OK)
            .await?;
        Ok(list.users)
    }

    /// `POST /ra/users`: registers a user (`USER_EXISTS` if the id is taken).
    pub async fn ra_register_user(
        &self,
        token: &SessionToken,
        user: &NewUser,
    ) -> Result<UserRef, ClientError> {
        let done: UserRegistered = self
            .ra_call(
                token,
                Method::POST,
                "/ra/users",
                Some(user),
                StatusCode::CREATED,
            )
            .await?;
        Ok(done.user)
    }

    /// `GET /ra/users/{user}/role-profiles`: the user and the role profiles they hold.
    pub async fn ra_role_profiles(
        &self,
        token: &SessionToken,
        user_id: &str,
    ) -> Result<UserRoleProfiles, ClientError> {
        let path = ra_path(&["users", user_id, "role-profiles"])?;
        self.ra_call(token, Method::GET, &path, None::<&()>, StatusCode::OK)
            .await
    }

    /// `POST /ra/users/{user}/role-profiles`: gives the user a role profile; the answer is
    /// the profile as the spine holds it (its id made from user, role and organisation when
    /// none was given).
    pub async fn ra_add_role_profile(
        &self,
        token: &SessionToken,
        user_id: &str,
        profile: &NewRoleProfile,
    ) -> Result<RoleProfile, ClientError> {
        let path = ra_path(&["users", user_id, "role-profiles"])?;
        let done: RoleProfileAdded = self
            .ra_call(
                token,
                Method::POST,
                &path,
                Some(profile),
                StatusCode::CREATED,
            )
            .await?;
        done.role_profile
            .ok_or_else(|| ClientError::Protocol("no role profile in the answer".into()))
    }

    /// `DELETE /ra/users/{user}/role-profiles/{id}`: the role is out of force at once.
    pub async fn ra_remove_role_profile(
        &self,
        token: &SessionToken,
        user_id: &str,
        profile_id: &str,
    ) -> Result<RoleProfileRemoved, ClientError> {
        let path = ra_path(&["users", user_id, "role-profiles", profile_id])?;
        self.ra_call(token, Method::DELETE, &path, None::<&()>, StatusCode::OK)
            .await
    }

    /// `GET /ra/cards`: every registered card with its holder and whether it is revoked.
    pub async fn ra_cards(&self, token: &SessionToken) -> Result<Vec<CardView>, ClientError> {
        let list: CardList = self
            .ra_call(token, Method::GET, "/ra/cards", None::<&()>, StatusCode::OK)
            .await?;
        Ok(list.cards)
    }

    /// `POST /ra/cards/{serial}/revoke`: sign-in with the card is refused from now on and its
    /// live sessions end.
    pub async fn ra_revoke_card(
        &self,
        token: &SessionToken,
        serial: &str,
        revocation: &CardRevocation,
    ) -> Result<CardRevoked, ClientError> {
        let path = ra_path(&["cards", serial, "revoke"])?;
        self.ra_call(token, Method::POST, &path, Some(revocation), StatusCode::OK)
            .await
    }
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_RESPONSE_BYTES {
            // Stop reading; the caller sees a truncated body that will not parse.
            body.truncate(MAX_RESPONSE_BYTES + 1);
            break;
        }
    }
    Ok(body)
}

fn string_field(value: &Value, name: &str) -> Result<String, ClientError> {
    value[name]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ClientError::Protocol(format!("no {name} in the answer")))
}

/// The JSON body if `status` is the expected one; otherwise the spine's OperationOutcome
/// turned into a typed error.
fn expect_status(
    status: StatusCode,
    body: &[u8],
    expected: StatusCode,
) -> Result<Value, ClientError> {
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(ClientError::Protocol("the answer is too large".into()));
    }
    let parsed: Option<Value> = if body.is_empty() {
        Some(Value::Null)
    } else {
        serde_json::from_slice(body).ok()
    };
    if status == expected {
        return parsed.ok_or_else(|| {
            ClientError::Protocol(format!(
                "HTTP {} with a body that is not JSON",
                status.as_u16()
            ))
        });
    }
    let Some(value) = parsed.filter(|v| v["resourceType"] == "OperationOutcome") else {
        // Not the spine's own error: a proxy or load balancer in the way, or the spine down
        // behind it.
        return Err(match status.as_u16() {
            502..=504 => ClientError::SpineUnreachable(format!("HTTP {}", status.as_u16())),
            n => ClientError::Spine {
                status: n,
                code: SpineCode::Unknown(format!("HTTP_{n}")),
                message: format!("HTTP {n} without an explanation"),
            },
        });
    };
    let issue = &value["issue"][0];
    let code = issue["details"]["coding"][0]["code"]
        .as_str()
        .unwrap_or("HTTP_ERROR")
        .to_string();
    let message = issue["details"]["text"]
        .as_str()
        .or_else(|| issue["diagnostics"].as_str())
        .unwrap_or("no detail given")
        .to_string();
    Err(match SpineCode::parse(&code) {
        SpineCode::Known(known) => from_error_code(status.as_u16(), known, message),
        unknown => ClientError::Spine {
            status: status.as_u16(),
            code: unknown,
            message,
        },
    })
}

/// The error for a refusal under one of the spine's codes. Every code is named here, so a
/// code added to `ErrorCode` does not build until this client has decided what it means.
fn from_error_code(status: u16, code: ErrorCode, message: String) -> ClientError {
    use ErrorCode as E;
    match code {
        E::CertificateNotAccepted | E::InvalidCertificate => ClientError::CertificateNotAccepted,
        E::CertificateRevoked => ClientError::CertificateRevoked,
        E::SessionEnded | E::SessionExpired => ClientError::SessionEnded,
        // The rest reach the caller as the spine's refusal, its words for the user kept.
        E::InvalidRequest
        | E::NotFound
        | E::MethodNotAllowed
        | E::ChallengeInvalid
        | E::ChallengeExpired
        | E::SignatureInvalid
        | E::Unauthenticated
        | E::RoleNotSelected
        | E::RoleNotHeld
        | E::NotPermittedForRole
        | E::InvalidNhsNumber
        | E::InvalidSearchData
        | E::MissingSearchParameters
        | E::TooManyMatches
        | E::PatientNotFound
        | E::AccessReasonRequired
        | E::PatientDissented
        | E::NoSummaryHeld
        | E::NoLegitimateRelationship
        | E::PermissionRefused
        | E::JustificationRequired
        | E::InvalidJustification
        | E::VolumeLimitReached
        | E::AlertNotFound
        | E::AlertAlreadyReviewed
        | E::ReviewNoteRequired
        | E::BundleTooLarge
        | E::SummaryTooLarge
        | E::MissingNhsNumber
        | E::InvalidBundle
        | E::NotRegisteredAtPractice
        | E::BundleIdentifierReused
        | E::NothingToApply
        | E::OlderThanHeld
        | E::TooManyEntries
        | E::InvalidOfflineView
        | E::OfflineViewQuota
        | E::TooManyRequests
        | E::ServiceBusy
        | E::ServiceUnavailable
        | E::Timeout
        | E::AuditUnavailable
        | E::InternalError
        // The registration authority's refusals (the `ra_…` calls): the spine's words
        // reach the RA as they are.
        | E::UserNotFound
        | E::UserExists
        | E::RoleProfileNotFound
        | E::RoleProfileExists
        | E::CardNotFound
        | E::CardAmbiguous
        | E::InvalidRegistration
        | E::OwnRoleChange
        | E::EncounterNotAtUploader
        | E::NoChildProtectionPlan => ClientError::Spine {
            status,
            code: SpineCode::Known(code),
            message,
        },
    }
}

/// The TLS failure in an error's causes, if there is one. rustls errors reach us wrapped
/// in `io::Error`s (sometimes two deep), whose `source()` skips the wrapped error, so
/// step into those by hand.
fn tls_cause(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use scr_model::fhir::{operation_outcome, IssueType};

    #[test]
    fn a_trace_query_is_escaped_skips_blanks_and_reads_back_as_sent() {
        let search = PatientSearch {
            family: "O'Brien Smith".into(),
            given: Some(" ".into()),
            birth_date: "1970-03-12".into(),
            gender: None,
            postcode: Some("LS1 4AP&x=1".into()),
        };
        let query = search.query();
        assert_eq!(
            query,
            "family=O%27Brien+Smith&birthdate=1970-03-12&address-postalcode=LS1+4AP%26x%3D1&_fuzzy-match=true&_max-results=10"
        );
        // What the spine reads (form_urlencoded::parse, as api.rs does) is what was typed.
        let read: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(read[0], ("family".into(), "O'Brien Smith".into()));
        assert_eq!(read[2], ("address-postalcode".into(), "LS1 4AP&x=1".into()));
    }

    fn refusal(status: u16, code: &str) -> ClientError {
        let body = serde_json::to_vec(&operation_outcome(IssueType::Invalid, code, "Words."))
            .expect("outcome");
        let status = StatusCode::from_u16(status).expect("status");
        match expect_status(status, &body, StatusCode::OK) {
            Err(e) => e,
            Ok(v) => panic!("{code} was taken as a success: {v}"),
        }
    }

    /// What the spine reads from a query string (form_urlencoded::parse, as api.rs does).
    fn read(query: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn an_alert_query_names_what_was_asked_and_nothing_blank() {
        assert_eq!(AlertQuery::default().query(), "status=open");
        let nhs = NhsNumber::parse("9434765919").expect("nhs");
        let q = AlertQuery {
            status: AlertStatus::All,
            agent: Some(" 555000000101 ".into()),
            patient: Some(nhs),
            organization: Some("  ".into()),
            from: NaiveDate::from_ymd_opt(2026, 3, 1),
            to: NaiveDate::from_ymd_opt(2026, 3, 12),
            count: Some(50),
        };
        assert_eq!(
            read(&q.query()),
            vec![
                pair("status", "all"),
                pair("agent", "555000000101"),
                pair("patient", "9434765919"),
                pair("date", "ge2026-03-01"),
                pair("date", "le2026-03-12"),
                pair("_count", "50"),
            ]
        );
        // A hostile user id stays one value.
        let q = AlertQuery {
            agent: Some("x&status=all".into()),
            ..AlertQuery::default()
        };
        assert_eq!(
            read(&q.query()),
            vec![pair("status", "open"), pair("agent", "x&status=all")]
        );
    }

    #[test]
    fn a_trail_query_sends_its_window_to_the_millisecond_in_utc() {
        use chrono::TimeZone;
        let t = Utc
            .with_ymd_and_hms(2026, 3, 12, 2, 5, 0)
            .single()
            .expect("time");
        let q = TrailQuery {
            agent: Some("555000000101".into()),
            action: Some(AuditAction::SummaryRead),
            since: Some(t - chrono::Duration::hours(12)),
            until: Some(t + chrono::Duration::hours(12)),
            ..TrailQuery::default()
        };
        let query = q.query();
        assert!(!query.contains('+'), "{query}");
        assert_eq!(
            read(&query),
            vec![
                pair("agent", "555000000101"),
                pair("action", "summary-read"),
                pair("date", "ge2026-03-11T14:05:00.000Z"),
                pair("date", "le2026-03-12T14:05:00.000Z"),
            ]
        );
        assert_eq!(TrailQuery::default().query(), "");
    }

    #[test]
    fn every_code_the_spine_sends_maps_to_a_known_error() {
        for &code in ErrorCode::ALL {
            match refusal(code.http_status(), code.as_str()) {
                ClientError::Spine {
                    status,
                    code: SpineCode::Known(got),
                    message,
                } => {
                    assert_eq!((got, status), (code, code.http_status()));
                    assert_eq!(message, "Words.", "{code}: the spine's words are kept");
                }
                ClientError::Spine {
                    code: SpineCode::Unknown(got),
                    ..
                } => panic!("{code} was read as an unknown code {got}"),
                // Mapped to one of the client's own errors, under the same or a wider code.
                other => assert!(
                    matches!(
                        (code, &other),
                        (
                            ErrorCode::CertificateNotAccepted | ErrorCode::InvalidCertificate,
                            ClientError::CertificateNotAccepted
                        ) | (
                            ErrorCode::CertificateRevoked,
                            ClientError::CertificateRevoked
                        ) | (
                            ErrorCode::SessionEnded | ErrorCode::SessionExpired,
                            ClientError::SessionEnded
                        )
                    ),
                    "{code} became {other:?}"
                ),
            }
        }
    }

    #[test]
    fn registration_paths_keep_each_value_in_its_own_segment() {
        assert_eq!(
            ra_path(&[
                "users",
                "555000000999",
                "role-profiles",
                "555000000999-r8001-rx901"
            ])
            .ok()
            .as_deref(),
            Some("/ra/users/555000000999/role-profiles/555000000999-r8001-rx901")
        );
        assert_eq!(
            ra_path(&["users", "../cards/ab?x=1#", "role-profiles"])
                .ok()
                .as_deref(),
            Some("/ra/users/..%2Fcards%2Fab%3Fx%3D1%23/role-profiles")
        );
        for dots in ["", ".", ".."] {
            assert!(
                matches!(
                    ra_path(&["cards", dots, "revoke"]),
                    Err(ClientError::InvalidInput(_))
                ),
                "{dots:?}"
            );
        }
    }

    #[test]
    fn a_code_from_a_newer_spine_is_kept_as_unknown() {
        match refusal(418, "A_CODE_FROM_LATER") {
            ClientError::Spine {
                status: 418,
                code: SpineCode::Unknown(code),
                message,
            } => assert_eq!(
                (code.as_str(), message.as_str()),
                ("A_CODE_FROM_LATER", "Words.")
            ),
            other => panic!("{other:?}"),
        }
        let e = refusal(418, "A_CODE_FROM_LATER");
        assert_eq!(e.code(), "A_CODE_FROM_LATER", "logged as sent");
    }
}
