//! The viewer's operations, each one call for a Tauri command: card state, sign-in, role,
//! find a patient, open a summary, confirm the sharing status. Every decision about access
//! is the spine's; this only asks and shapes the answer.

use chrono::Utc;
use scr_card::Passcode;
use scr_client::{CardSession, ClientError, SessionEvent, SpineClient, Timeouts};
use scr_model::NhsNumber;
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedReceiver;
use ts_rs::TS;

use crate::config::AppConfig;
use crate::view::{
    AppError, CardStatus, PatientView, RoleView, SharingView, SignedInView, SummaryView,
};

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        let tries_left = match &e {
            ClientError::Card(scr_card::CardError::WrongPasscode { tries_left }) => {
                Some(*tries_left)
            }
            _ => None,
        };
        let message = match &e {
            // The spine's own words are written for users.
            ClientError::Spine { message, .. } => message.clone(),
            other => capitalised(&other.to_string()),
        };
        AppError {
            code: e.code(),
            message,
            tries_left,
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> AppError {
        AppError {
            code: code.into(),
            message: message.into(),
            tries_left: None,
        }
    }
}

/// Why the user is opening the record (`X-Access-Reason`).
#[derive(Clone, Copy, Debug, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum AccessReason {
    PermissionToView,
    Emergency,
}

impl AccessReason {
    fn header(self) -> &'static str {
        match self {
            AccessReason::PermissionToView => "permission-to-view",
            AccessReason::Emergency => "emergency",
        }
    }
}

/// A trace by demographics (PDS rules: family name and birth date at least).
#[derive(Clone, Debug, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TraceQuery {
    pub family: String,
    pub given: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub gender: Option<String>,
    pub postcode: Option<String>,
}

pub struct Viewer {
    session: CardSession,
}

fn parse_nhs(input: &str) -> Result<NhsNumber, AppError> {
    NhsNumber::parse(input).map_err(|e| AppError::new("INVALID_NHS_NUMBER", e.to_string()))
}

fn unreadable(e: scr_model::fhir::FhirError) -> AppError {
    AppError::new(
        "UNREADABLE_RECORD",
        format!("The spine sent a record that cannot be read: {e}"),
    )
}

impl Viewer {
    /// Must be called inside a Tokio runtime.
    pub fn new(config: &AppConfig) -> Result<(Viewer, UnboundedReceiver<SessionEvent>), AppError> {
        let spine =
            SpineClient::with_ca_file(&config.spine_url, &config.ca_file, Timeouts::default())?;
        let (session, events) = CardSession::new(spine);
        Ok((Viewer { session }, events))
    }

    pub fn session(&self) -> &CardSession {
        &self.session
    }

    pub fn card_status(&self) -> CardStatus {
        Self::card_status_of(&self.session)
    }

    /// The card state as a session last heard it (for event handlers holding a session).
    pub fn card_status_of(session: &CardSession) -> CardStatus {
        if !session.service_up() {
            return CardStatus::ServiceUnavailable;
        }
        let readers = session.readers();
        if readers.is_empty() {
            return CardStatus::NoReader;
        }
        match readers.iter().find(|(_, v)| v.card_present) {
            Some((name, _)) => CardStatus::CardPresent {
                reader: name.clone(),
            },
            None => CardStatus::NoCard {
                readers: readers.keys().cloned().collect(),
            },
        }
    }

    /// As [`Viewer::card_status_of`], and a card present is checked for the PIV application
    /// (on the blocking pool; a quick SELECT that leaves the card as it was).
    pub async fn card_status_probed(session: &CardSession) -> CardStatus {
        match Self::card_status_of(session) {
            CardStatus::CardPresent { reader } => {
                let probe = reader.clone();
                match tokio::task::spawn_blocking(move || scr_card::reader::has_piv(&probe)).await {
                    Ok(Ok(false)) => CardStatus::UnknownCard { reader },
                    _ => CardStatus::CardPresent { reader },
                }
            }
            other => other,
        }
    }

    /// Signs in with the card now in a reader.
    pub async fn sign_in(&self, passcode: String) -> Result<SignedInView, AppError> {
        let passcode = Passcode::new(passcode).map_err(ClientError::Card)?;
        let reader = match self.card_status() {
            CardStatus::CardPresent { reader } => reader,
            CardStatus::ServiceUnavailable => {
                return Err(ClientError::Card(scr_card::CardError::ServiceUnavailable).into())
            }
            CardStatus::NoReader => {
                return Err(ClientError::Card(scr_card::CardError::NoReader).into())
            }
            CardStatus::NoCard { .. } => {
                return Err(ClientError::Card(scr_card::CardError::NoCard).into())
            }
            CardStatus::UnknownCard { .. } => {
                return Err(ClientError::Card(scr_card::CardError::NotPivCard).into())
            }
        };
        let signed = self.session.sign_in(&reader, passcode).await?;
        Ok(SignedInView {
            user_name: signed.user.name,
            user_id: signed.user.user_id,
            roles: signed.role_profiles.iter().map(RoleView::from).collect(),
            idle_timeout_secs: u32::try_from(signed.idle_timeout_secs).unwrap_or(u32::MAX),
        })
    }

    pub async fn select_role(&self, role_id: &str) -> Result<RoleView, AppError> {
        let role = self.session.select_role(role_id).await?;
        Ok(RoleView::from(&role))
    }

    fn token(&self) -> Result<scr_client::SessionToken, AppError> {
        self.session
            .token()
            .ok_or_else(|| ClientError::SessionEnded.into())
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Vec<u8>, AppError> {
        let token = self.token()?;
        match self
            .session
            .spine()
            .fhir_get_raw(&token, path, headers)
            .await
        {
            Ok(bytes) => Ok(bytes),
            Err(ClientError::SessionEnded) => {
                self.session.end(scr_client::EndReason::EndedBySpine);
                Err(ClientError::SessionEnded.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn find_patient(&self, nhs_number: &str) -> Result<PatientView, AppError> {
        let nhs = parse_nhs(nhs_number)?;
        let bytes = self
            .get(&format!("Patient/{}", nhs.as_digits()), &[])
            .await?;
        let patient = scr_model::fhir::parse_patient(&bytes).map_err(unreadable)?;
        Ok(PatientView::from_model(&patient, None))
    }

    pub async fn trace(&self, query: &TraceQuery) -> Result<Vec<PatientView>, AppError> {
        let mut q = form_query(&[
            ("family", Some(query.family.as_str())),
            ("given", query.given.as_deref()),
            ("birthdate", Some(query.birth_date.as_str())),
            ("gender", query.gender.as_deref()),
            ("address-postalcode", query.postcode.as_deref()),
        ]);
        q.push_str("&_fuzzy-match=true&_max-results=10");
        let bytes = self.get(&format!("Patient?{q}"), &[]).await?;
        let matches = scr_model::fhir::parse_patient_searchset(&bytes).map_err(unreadable)?;
        Ok(matches
            .iter()
            .map(|(p, score)| PatientView::from_model(p, *score))
            .collect())
    }

    pub async fn summary(
        &self,
        nhs_number: &str,
        reason: AccessReason,
    ) -> Result<SummaryView, AppError> {
        let nhs = parse_nhs(nhs_number)?;
        let bytes = self
            .get(
                &format!("Patient/{}/$summary", nhs.as_digits()),
                &[("X-Access-Reason", reason.header())],
            )
            .await?;
        let fetched_at = Utc::now();
        let doc = scr_model::fhir::parse_document(&bytes).map_err(unreadable)?;
        if doc.patient.nhs_number != Some(nhs) {
            // Never show one patient's record under another's banner.
            return Err(AppError::new(
                "WRONG_PATIENT",
                "The spine returned a record for a different patient; it is not shown.",
            ));
        }
        Ok(SummaryView::from_document(
            &doc,
            fetched_at,
            reason == AccessReason::Emergency,
            Utc::now(),
        ))
    }

    pub async fn sharing(&self, nhs_number: &str) -> Result<SharingView, AppError> {
        let nhs = parse_nhs(nhs_number)?;
        let bytes = self
            .get(&format!("Consent?patient={}", nhs.as_digits()), &[])
            .await?;
        let record = scr_model::fhir::parse_consent_searchset(&bytes).map_err(unreadable)?;
        Ok(SharingView::from_model(record.as_ref()))
    }

    pub fn sign_out(&self) {
        self.session.end(scr_client::EndReason::SignedOut);
    }

    /// The page saw no activity for the idle timeout: end the session as the spine would.
    pub fn lock_idle(&self) {
        self.session.end(scr_client::EndReason::IdleTimeout);
    }
}

fn form_query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        for b in v.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_queries_are_escaped_and_skip_blanks() {
        assert_eq!(
            form_query(&[
                ("family", Some("O'Brien Smith")),
                ("given", Some(" ")),
                ("birthdate", Some("1970-03-12"))
            ]),
            "family=O%27Brien%20Smith&birthdate=1970-03-12"
        );
    }

    #[test]
    fn wrong_passcode_keeps_its_tries_for_the_ui() {
        let e: AppError =
            ClientError::Card(scr_card::CardError::WrongPasscode { tries_left: 2 }).into();
        assert_eq!(e.code, "WRONG_PASSCODE");
        assert_eq!(e.tries_left, Some(2));
        assert!(e.message.starts_with("Wrong passcode"));
    }
}
