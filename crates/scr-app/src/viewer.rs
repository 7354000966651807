//! The viewer's operations, each one call for a Tauri command: card state, sign-in, role,
//! find a patient, open a summary, confirm the sharing status. Every decision about access
//! is the spine's; this only asks and shapes the answer.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use scr_card::Passcode;
use scr_client::{
    AlertQuery, AlertStatus, CardSession, ClientError, PatientSearch, SessionEvent, SessionToken,
    SpineClient, Timeouts, TrailQuery,
};
use scr_model::{AccessReason, AccessRequest, AuditAction, NhsNumber};
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedReceiver;
use ts_rs::TS;

use std::sync::{Arc, Mutex};

use crate::changes::ChangesView;
use crate::config::AppConfig;
use crate::error::{capitalised, AppError, AppErrorKind};
use crate::events::AppEvent;
use crate::offline::{
    instant, refusal_removes_copy, send_queued_views, system_clock, Clock, Enrolment, KeyHolder,
    OfflineCache, OpenKey, PURGE_INTERVAL,
};
use crate::view::{
    volume_warning_words, AlertView, CacheStatus, CardRevokedView, CardStatus, OfflineEntryView,
    OfflineSignedInView, PatientView, RegisteredUserView, RegistrationView, RoleProfileView,
    RoleView, SharingView, SignedInView, SummaryView, TrailEntryView,
};

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

/// Which alerts the privacy officer's list shows.
#[derive(Clone, Copy, Debug, Default, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum AlertFilterStatus {
    #[default]
    Open,
    Reviewed,
    All,
}

/// The privacy officer's filters of the alert list, as the window sends them. Blank values
/// are no filter.
#[derive(Clone, Debug, Default, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AlertFilter {
    #[serde(default)]
    pub status: AlertFilterStatus,
    /// The SDS user id of whoever raised them.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub nhs_number: Option<String>,
    /// An ODS code among the officer's organisations.
    #[serde(default)]
    pub organisation: Option<String>,
    /// First and last day, `YYYY-MM-DD`, both inclusive.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// How many alerts or trail entries one screen asks for (the newest).
pub const OFFICER_PAGE: u32 = 200;

/// How far either side of an alert the user's other accesses are shown.
pub const AROUND_AN_ALERT: Duration = Duration::hours(12);

/// The window of a user's accesses shown beside an alert raised at `at`.
pub fn around(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (at - AROUND_AN_ALERT, at + AROUND_AN_ALERT)
}

fn blank_is_none(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn parse_day(value: &Option<String>, what: &str) -> Result<Option<NaiveDate>, AppError> {
    blank_is_none(value)
        .map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
                AppError::new(
                    AppErrorKind::InvalidDate,
                    format!("The {what} date is not a date (for example 12-03-2026)."),
                )
            })
        })
        .transpose()
}

impl AlertFilter {
    /// The spine's search for this filter; a date or NHS number that is not one is refused
    /// here, before anything is sent.
    pub fn query(&self) -> Result<AlertQuery, AppError> {
        let from = parse_day(&self.from, "from")?;
        let to = parse_day(&self.to, "to")?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(AppError::new(
                    AppErrorKind::InvalidDate,
                    "The from date is after the to date.",
                ));
            }
        }
        Ok(AlertQuery {
            status: match self.status {
                AlertFilterStatus::Open => AlertStatus::Open,
                AlertFilterStatus::Reviewed => AlertStatus::Reviewed,
                AlertFilterStatus::All => AlertStatus::All,
            },
            agent: blank_is_none(&self.user_id),
            patient: blank_is_none(&self.nhs_number)
                .map(|n| parse_nhs(&n))
                .transpose()?,
            organization: blank_is_none(&self.organisation),
            from,
            to,
            count: Some(OFFICER_PAGE),
        })
    }
}

/// "Register a user", as the registration authority typed it (the spine checks it).
#[derive(Clone, Debug, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewUserInput {
    /// The SDS user id (12 digits).
    pub user_id: String,
    pub name: String,
}

/// "Add a role profile", as the registration authority filled it in (the spine checks it
/// and names the profile).
#[derive(Clone, Debug, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewRoleProfileInput {
    pub role_code: String,
    pub role_name: String,
    pub org_ods: String,
    pub org_name: String,
    /// Activity codes (`B0264`, `RA-MANAGE`), as `RegistrationView::activities` lists them.
    pub activities: Vec<String>,
}

/// "Revoke" on one card: which certificate, and why.
#[derive(Clone, Debug, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CardRevocationInput {
    pub serial: String,
    /// The issuer as the card list shows it, so a serial two issuers share is not ambiguous.
    pub issuer: Option<String>,
    pub reason: String,
}

/// The longest the card probe behind the sign-in screen's status may take.
const CARD_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Viewer {
    session: CardSession,
    /// The offline cache, or why it is off on this computer.
    cache: Result<Arc<OfflineCache>, String>,
    /// The signed-in user's cache key, tied to their session.
    open_key: KeyHolder,
    /// Who signed in last (for "Remove my offline records" without a key).
    user_id: Mutex<Option<String>>,
    /// The PC/SC watcher feeding the session, when [`Viewer::start`] started one.
    _watcher: Option<scr_card::ReaderWatcher>,
}

/// The session a request is made for, taken before the request starts: its serial (never
/// reused in this process), its token and its cache key. An answer that arrives once this
/// session is over belongs to nobody signed in now: it is dropped, and nothing of it is
/// written to the cache or shown.
struct Asked {
    serial: u64,
    token: SessionToken,
    key: Option<Arc<OpenKey>>,
}

/// The session that asked ended while its request was in flight.
fn asker_gone() -> AppError {
    AppError::new(
        AppErrorKind::SessionEnded,
        "The session that asked for this has ended; its answer is not shown or kept.",
    )
}

pub(crate) fn parse_nhs(input: &str) -> Result<NhsNumber, AppError> {
    NhsNumber::parse(input)
        .map_err(|e| AppError::new(AppErrorKind::InvalidNhsNumber, e.to_string()))
}

fn unreadable(e: scr_model::fhir::FhirError) -> AppError {
    AppError::new(
        AppErrorKind::UnreadableRecord,
        format!("The spine sent a record that cannot be read: {e}"),
    )
}

/// The warning when what changed since the last look cannot be worked out: the reader must
/// not take the missing block for "nothing changed".
fn changes_unavailable(why: &str) -> String {
    format!("What changed since you last looked cannot be shown: {why}.")
}

/// What changed from the copy fetched last time (`previous`) to `current`; `None`, with a
/// warning, when that copy cannot be read or is not this patient's.
fn changes_since(
    previous: &scr_cache::CachedSummary,
    nhs: NhsNumber,
    current: &scr_model::Summary,
    warnings: &mut Vec<String>,
) -> Option<ChangesView> {
    let doc = match scr_model::fhir::parse_document(&previous.bundle) {
        Ok(doc) => doc,
        Err(e) => {
            warnings.push(changes_unavailable(&format!(
                "the copy kept from last time cannot be read ({e})"
            )));
            return None;
        }
    };
    if doc.patient.nhs_number != Some(nhs) {
        warnings.push(changes_unavailable(
            "the copy kept from last time is not this patient's",
        ));
        return None;
    }
    let since = instant(previous.fetched_at_ms).to_rfc3339();
    Some(ChangesView::from_model(
        &scr_model::changes::compare(&doc.summary, current),
        since,
    ))
}

impl Viewer {
    /// Must be called inside a Tokio runtime. Opens the offline cache with the OS keyring
    /// and deletes its expired entries now and every hour.
    /// The whole viewer, as the app runs it: the viewer, the card watcher feeding its
    /// session, and the forwarding of the session's events (card probes in tasks of their
    /// own, the cache key wiped when a session ends) to the returned receiver, which the
    /// shell only passes on to the window. Must be called inside a Tokio runtime.
    pub fn start(config: &AppConfig) -> Result<(Viewer, UnboundedReceiver<AppEvent>), AppError> {
        let (mut viewer, events) = Viewer::new(config)?;
        // No PC/SC service yet is not fatal: the sign-in screen says so, and pcscd
        // appearing later is seen by the card probes.
        viewer._watcher = match viewer.session.watch_cards() {
            Ok(watcher) => Some(watcher),
            Err(e) => {
                tracing::warn!(error = %e, "card watcher not started");
                None
            }
        };
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let session = viewer.session.clone();
        let probe = move || {
            let session = session.clone();
            async move { Viewer::card_status_probed(&session).await }
        };
        tokio::spawn(crate::events::forward_session_events(
            events,
            probe,
            viewer.key_holder(),
            sender,
        ));
        Ok((viewer, receiver))
    }

    pub fn new(config: &AppConfig) -> Result<(Viewer, UnboundedReceiver<SessionEvent>), AppError> {
        Self::with_keyring(config, scr_cache::DeviceKeyring::default(), system_clock())
    }

    /// As [`Viewer::new`] with the keyring service and the clock given (tests).
    pub fn with_keyring(
        config: &AppConfig,
        keyring: scr_cache::DeviceKeyring,
        clock: Clock,
    ) -> Result<(Viewer, UnboundedReceiver<SessionEvent>), AppError> {
        let spine =
            SpineClient::with_ca_file(&config.spine_url, &config.ca_file, Timeouts::default())?;
        let (session, events) = CardSession::new(spine);
        let retention =
            scr_cache::Retention::new(config.offline_max_age_hours, config.offline_max_entries);
        let cache = OfflineCache::open(&config.data_dir, retention, keyring, clock).map(Arc::new);
        if let Ok(cache) = &cache {
            let cache = Arc::downgrade(cache);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(PURGE_INTERVAL);
                every.tick().await;
                loop {
                    every.tick().await;
                    let Some(cache) = cache.upgrade() else { break };
                    if let Err(e) = cache.purge_expired() {
                        tracing::warn!(error = %e, "offline cache purge failed");
                    }
                }
            });
        } else if let Err(why) = &cache {
            tracing::warn!(reason = %why, "offline cache is off");
        }
        Ok((
            Viewer {
                session,
                cache,
                open_key: Arc::new(Mutex::new(None)),
                user_id: Mutex::new(None),
                _watcher: None,
            },
            events,
        ))
    }

    /// Shared with the session-event loop, which empties it when a session ends.
    pub fn key_holder(&self) -> KeyHolder {
        self.open_key.clone()
    }

    /// Whether offline copies are kept on this computer, and if not, why.
    pub fn cache_status(&self) -> CacheStatus {
        match &self.cache {
            Ok(cache) => cache.status(),
            Err(reason) => CacheStatus::Off {
                reason: reason.clone(),
            },
        }
    }

    fn cache(&self) -> Result<&Arc<OfflineCache>, AppError> {
        self.cache.as_ref().map_err(|why| {
            AppError::new(
                AppErrorKind::CacheUnavailable,
                format!("Offline records are off on this computer: {why}"),
            )
        })
    }

    /// The open key, if it belongs to the session that is active now.
    fn key(&self) -> Option<Arc<OpenKey>> {
        let mut held = self.open_key.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.session.session_serial();
        match held.as_ref() {
            Some(k) if Some(k.session_serial) == current => Some(k.clone()),
            Some(_) => {
                *held = None;
                None
            }
            None => None,
        }
    }

    /// Holds `key` for the session `serial`, if that session is still the active one (the
    /// key was opened after an await, and must not be handed to a session begun since).
    fn hold_key(&self, serial: Option<u64>, user_id: &str, key: scr_cache::UserKey) {
        let mut held = self.open_key.lock().unwrap_or_else(|p| p.into_inner());
        match serial {
            Some(serial) if self.session.session_serial() == Some(serial) => {
                *held = Some(Arc::new(OpenKey {
                    session_serial: serial,
                    user_id: user_id.to_string(),
                    key,
                }));
            }
            _ => tracing::debug!("cache key not held: the session that opened it has ended"),
        }
    }

    /// The active session's serial, token and key, read together before a request.
    fn asking(&self) -> Result<Asked, ClientError> {
        let serial = self
            .session
            .session_serial()
            .ok_or(ClientError::SessionEnded)?;
        let token = self.session.token().ok_or(ClientError::SessionEnded)?;
        let key = self.key().filter(|k| k.session_serial == serial);
        // Serials never repeat: the same one before and after means token and key are its.
        if self.session.session_serial() != Some(serial) {
            return Err(ClientError::SessionEnded);
        }
        Ok(Asked { serial, token, key })
    }

    /// Whether the session that asked is still the active one.
    fn still_asking(&self, asked: &Asked) -> bool {
        self.session.session_serial() == Some(asked.serial)
    }

    fn remember_user(&self, user_id: &str) {
        *self.user_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(user_id.to_string());
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
                // A card (or another program holding the reader) can stall: the probe is
                // only a hint for the sign-in screen, so it gives up after a second and the
                // card is shown as present, unverified.
                let probed = tokio::time::timeout(
                    CARD_PROBE_TIMEOUT,
                    tokio::task::spawn_blocking(move || scr_card::reader::has_piv(&probe)),
                )
                .await;
                match probed {
                    Ok(Ok(Ok(false))) => CardStatus::UnknownCard { reader },
                    _ => CardStatus::CardPresent { reader },
                }
            }
            other => other,
        }
    }

    /// Signs in with the card now in a reader.
    pub async fn sign_in(&self, passcode: String) -> Result<SignedInView, AppError> {
        let passcode = Passcode::new(passcode).map_err(ClientError::Card)?;
        let reader = self.reader_with_card()?;
        let cache = self.cache.as_ref().ok().cloned();
        let mut prepared = None;
        let signed = self
            .session
            .sign_in_agreeing(&reader, passcode, |certificates| match &cache {
                Some(cache) => {
                    let (ask, p) = cache.prepare(certificates);
                    prepared = Some(p);
                    ask
                }
                None => scr_client::CardAsk::default(),
            })
            .await?;
        // The session this sign-in opened; the key opened below is for it alone.
        let serial = self.session.session_serial();
        let idle_timeout_secs = u32::try_from(signed.idle_timeout_secs).unwrap_or(u32::MAX);
        self.remember_user(&signed.user.user_id);
        let cache_status = match (cache, prepared) {
            (Some(cache), Some(prepared)) => {
                let enrolment = Enrolment::of(&signed, prepared, idle_timeout_secs);
                self.open_cache_online(serial, cache, enrolment).await
            }
            _ => self.cache_status(),
        };
        Ok(SignedInView {
            user_name: signed.user.name,
            user_id: signed.user.user_id,
            roles: signed.role_profiles.iter().map(RoleView::from).collect(),
            idle_timeout_secs,
            cache: cache_status,
        })
    }

    /// After an online sign-in: open (or set up) the user's cache key.
    async fn open_cache_online(
        &self,
        serial: Option<u64>,
        cache: Arc<OfflineCache>,
        enrolment: Enrolment,
    ) -> CacheStatus {
        let user_id = enrolment.user_id.clone();
        let for_enrol = cache.clone();
        // The keyring is a D-Bus round trip (~100 ms): off the async threads.
        let enrolled = tokio::task::spawn_blocking(move || for_enrol.enrol(enrolment)).await;
        match enrolled {
            Ok(Ok(key)) => {
                self.hold_key(serial, &user_id, key);
                cache.status()
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "offline cache not opened for this sign-in");
                let why = match e {
                    scr_cache::CacheError::KeyringUnavailable(why) => why,
                    other => other.to_string(),
                };
                CacheStatus::Off {
                    reason: capitalised(&why),
                }
            }
            Err(_) => CacheStatus::Off {
                reason: "The offline cache could not be opened.".into(),
            },
        }
    }

    /// Signs in without the spine, with the card against this computer's offline records.
    pub async fn sign_in_offline(&self, passcode: String) -> Result<OfflineSignedInView, AppError> {
        let cache = self.cache()?.clone();
        let passcode = Passcode::new(passcode).map_err(ClientError::Card)?;
        let reader = self.reader_with_card()?;
        let mut found = None;
        let agreed = self
            .session
            .sign_in_offline(&reader, passcode, |certificate| {
                let user = cache.user_for_certificate(certificate)?;
                let target = scr_client::OfflineTarget {
                    recorded_certificate: user.auth_certificate.clone(),
                    peer: user.header.ephemeral_public_key().ok()?,
                };
                found = Some(user);
                Some(target)
            })
            .await?;
        let user = found.ok_or_else(|| AppError::from(ClientError::OfflineNotSetUp))?;
        let serial = self.session.session_serial();
        let unlock_cache = cache.clone();
        let unlock_user = user.clone();
        let unlocked =
            tokio::task::spawn_blocking(move || unlock_cache.unlock(&unlock_user, agreed.expose()))
                .await
                .map_err(|_| {
                    AppError::new(
                        AppErrorKind::CacheUnavailable,
                        "The offline records could not be opened.",
                    )
                })?;
        let key = match unlocked {
            Ok(key) => key,
            Err(e) => {
                // The card proved itself, but the records do not open: end the session
                // (that one, not one begun since).
                if serial.is_some() && self.session.session_serial() == serial {
                    self.session.end(scr_client::EndReason::SignedOut);
                }
                return Err(e.into());
            }
        };
        let user_id = user.header.user_id.clone();
        self.remember_user(&user_id);
        self.hold_key(serial, &user_id, key);
        let open = self
            .key()
            .filter(|k| Some(k.session_serial) == serial)
            .ok_or_else(asker_gone)?;
        let (entries, altered) = cache.list_off_thread(open).await?;
        Ok(OfflineSignedInView {
            user_name: user.user_name,
            user_id,
            entries,
            idle_timeout_secs: user.idle_timeout_secs,
            removed_altered: u32::try_from(altered).unwrap_or(u32::MAX),
        })
    }

    /// The signed-in user's offline records (offline or online). The cache work runs on the
    /// blocking pool: with many entries it must not hold up the caller.
    pub async fn offline_records(&self) -> Result<Vec<OfflineEntryView>, AppError> {
        let cache = self.cache()?.clone();
        let open = self
            .key()
            .ok_or_else(|| AppError::from(ClientError::SessionEnded))?;
        Ok(cache.list_off_thread(open).await?.0)
    }

    /// Opens an offline copy; the view is queued for the spine's audit trail first.
    pub fn offline_summary(&self, nhs_number: &str) -> Result<SummaryView, AppError> {
        let nhs = parse_nhs(nhs_number)?;
        let cache = self.cache()?;
        let open = self
            .key()
            .ok_or_else(|| AppError::from(ClientError::SessionEnded))?;
        let gone = || {
            AppError::new(
                AppErrorKind::OfflineRecordGone,
                "This offline record has expired or was removed; it is not shown.",
            )
        };
        let found = match cache.open_for_view(&open.key, &nhs.as_digits()) {
            Ok(Some(found)) => found,
            Ok(None) => return Err(gone()),
            Err(scr_cache::CacheError::Tampered) => {
                return Err(AppError::new(
                    AppErrorKind::OfflineRecordGone,
                    "This offline record had been altered; it was deleted and is not shown.",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let doc = scr_model::fhir::parse_document(&found.bundle).map_err(unreadable)?;
        if doc.patient.nhs_number != Some(nhs) {
            let _ = cache.remove(&open.key, &nhs.as_digits());
            return Err(gone());
        }
        let mut view = SummaryView::from_document(
            &doc,
            instant(found.fetched_at_ms),
            found.reason == AccessReason::Emergency.header_value(),
            cache.now(),
        );
        view.offline_copy = true;
        Ok(view)
    }

    /// "Remove my offline records": every offline copy of the user's on this computer.
    pub async fn remove_offline_records(&self) -> Result<u32, AppError> {
        let cache = self.cache()?.clone();
        if self.session.session_serial().is_none() {
            return Err(ClientError::SessionEnded.into());
        }
        let user_id = self
            .user_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| AppError::from(ClientError::SessionEnded))?;
        let removed = cache.remove_all_off_thread(user_id).await?;
        Ok(u32::try_from(removed).unwrap_or(u32::MAX))
    }

    fn reader_with_card(&self) -> Result<String, AppError> {
        match self.card_status() {
            CardStatus::CardPresent { reader } => Ok(reader),
            CardStatus::ServiceUnavailable => {
                Err(ClientError::Card(scr_card::CardError::ServiceUnavailable).into())
            }
            CardStatus::NoReader => Err(ClientError::Card(scr_card::CardError::NoReader).into()),
            CardStatus::NoCard { .. } => Err(ClientError::Card(scr_card::CardError::NoCard).into()),
            CardStatus::UnknownCard { .. } => {
                Err(ClientError::Card(scr_card::CardError::NotPivCard).into())
            }
        }
    }

    /// Chooses the role; a clinical role then sends the offline views queued since the
    /// user's last online session to the spine's audit trail (in the background).
    pub async fn select_role(&self, role_id: &str) -> Result<RoleView, AppError> {
        let asked = self.asking()?;
        let role = self.session.select_role(role_id).await?;
        if !self.still_asking(&asked) {
            return Err(asker_gone());
        }
        let view = RoleView::from(&role);
        if let (true, Ok(cache), Some(key)) = (view.clinical, &self.cache, asked.key) {
            let spine = self.session.spine().clone();
            tokio::spawn(send_queued_views(cache.clone(), spine, asked.token, key));
        }
        Ok(view)
    }

    /// Runs `call` for the session `asked`, keeping the client's error so the caller can
    /// tell refusals apart; `None` if that session ended while the request was in flight
    /// (its answer, or refusal, is then dropped). The card session ends itself if the spine
    /// says it is over (`CardSession::settle`).
    async fn ask<T, F>(&self, asked: &Asked, call: F) -> Option<Result<T, ClientError>>
    where
        F: std::future::Future<Output = Result<T, ClientError>>,
    {
        self.session.settle(asked.serial, call.await)
    }

    pub async fn find_patient(&self, nhs_number: &str) -> Result<PatientView, AppError> {
        let nhs = parse_nhs(nhs_number)?;
        let asked = self.asking()?;
        let spine = self.session.spine();
        match self
            .ask(&asked, spine.patient(&asked.token, nhs))
            .await
            .ok_or_else(asker_gone)?
        {
            Ok(patient) => Ok(PatientView::from_model(&patient, None)),
            Err(e) => Err(self.forget_refused(&asked, &nhs, e)),
        }
    }

    pub async fn trace(&self, query: &TraceQuery) -> Result<Vec<PatientView>, AppError> {
        let asked = self.asking()?;
        let search = PatientSearch {
            family: query.family.clone(),
            given: query.given.clone(),
            birth_date: query.birth_date.clone(),
            gender: query.gender.clone(),
            postcode: query.postcode.clone(),
        };
        let matches = self
            .ask(&asked, self.session.spine().trace(&asked.token, &search))
            .await
            .ok_or_else(asker_gone)??;
        Ok(matches
            .iter()
            .map(|(p, score)| PatientView::from_model(p, *score))
            .collect())
    }

    pub async fn summary(
        &self,
        nhs_number: &str,
        access: &AccessRequest,
    ) -> Result<SummaryView, AppError> {
        let reason = access.reason;
        let nhs = parse_nhs(nhs_number)?;
        // Token and cache key of the session asking, before the request: a slow answer must
        // never be sealed under the key of whoever signed in meanwhile.
        let asked = self.asking()?;
        let spine = self.session.spine();
        let fetched = match self
            .ask(&asked, spine.summary(&asked.token, nhs, access))
            .await
            .ok_or_else(asker_gone)?
        {
            Ok(fetched) => fetched,
            Err(e) => return Err(self.forget_refused(&asked, &nhs, e)),
        };
        let fetched_at = Utc::now();
        let doc = &fetched.document;
        if doc.patient.nhs_number != Some(nhs) {
            // Never show one patient's record under another's banner.
            return Err(AppError::new(
                AppErrorKind::WrongPatient,
                "The spine returned a record for a different patient; it is not shown.",
            ));
        }
        let mut view = SummaryView::from_document(
            doc,
            fetched_at,
            reason == AccessReason::Emergency,
            Utc::now(),
        );
        view.volume_warning = fetched.volume_warning.as_ref().map(volume_warning_words);
        // An answer for a session already over opens nothing of that user's cache.
        if !self.still_asking(&asked) {
            return Err(asker_gone());
        }
        if let (Ok(cache), Some(open)) = (&self.cache, &asked.key) {
            // The copy this user fetched last time, read with the asking session's own key
            // before the new one replaces it below.
            match cache
                .previous_off_thread(open.clone(), nhs.as_digits())
                .await
            {
                Ok(previous) => {
                    view.changes = previous
                        .and_then(|p| changes_since(&p, nhs, &doc.summary, &mut view.warnings));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "previous copy not read for the changes");
                    let why = match e {
                        scr_cache::CacheError::Tampered => {
                            "the copy kept from last time had been altered, and was deleted".into()
                        }
                        other => other.to_string(),
                    };
                    view.warnings.push(changes_unavailable(&why));
                }
            }
        }
        if !self.still_asking(&asked) {
            return Err(asker_gone());
        }
        if let (Ok(cache), Some(open)) = (&self.cache, &asked.key) {
            if let Err(e) = cache.put(
                &open.key,
                &view.patient,
                reason.header_value(),
                fetched_at,
                &fetched.bytes,
            ) {
                // Shown all the same; the user is told it is not kept for offline use.
                tracing::warn!(error = %e, "summary not kept for offline use");
                view.warnings.push(format!(
                    "This record could not be kept for offline use on this computer: {e}."
                ));
            }
        }
        Ok(view)
    }

    /// Opens a patient summary document from a file (its bytes, as the window read them, and
    /// the name the user chose). Only for a clinical role in force in an online session: it
    /// shows patient data, and there is no spine access to decide it, so the viewer does.
    /// Nothing is asked of the spine, nothing is kept in the offline cache, and nothing of
    /// the document goes to the log (not even the file's name, which may name the patient).
    pub async fn open_document(
        &self,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<crate::document::DocumentView, AppError> {
        let serial = self
            .session
            .session_serial()
            .ok_or_else(|| AppError::from(ClientError::SessionEnded))?;
        let needs_clinical = |why: &str| {
            AppError::new(
                AppErrorKind::ClinicalRoleRequired,
                format!("Opening a document from a file needs a clinical role: {why}"),
            )
        };
        if self.session.is_offline() {
            return Err(needs_clinical(
                "working offline, no role is in force. Sign in online and choose a clinical role.",
            ));
        }
        match self.session.role() {
            None => return Err(needs_clinical("choose a clinical role first.")),
            Some(role) if !RoleView::from(&role).clinical => {
                return Err(needs_clinical(&format!(
                    "{} does not view clinical records.",
                    role.role_name
                )))
            }
            Some(_) => {}
        }
        let name = file_name.to_string();
        let size = bytes.len();
        // Up to 4 MB of JSON: parsed on the blocking pool, off the async threads that carry
        // the session's events.
        let read = tokio::task::spawn_blocking(move || {
            crate::document::read_document(&bytes, &name, Utc::now())
        })
        .await
        .map_err(|_| {
            AppError::new(
                AppErrorKind::UnreadableRecord,
                "The document could not be read.",
            )
        })?;
        // The session that asked may have ended while the file was read: its answer belongs
        // to nobody signed in now.
        if self.session.session_serial() != Some(serial) {
            return Err(asker_gone());
        }
        match &read {
            Ok(_) => tracing::info!(size, "document opened from a file"),
            Err(e) => tracing::info!(size, code = %e.code(), "document from a file refused"),
        }
        read
    }

    /// A refusal that concerns the patient (opted out, no longer held) also removes the
    /// user's offline copy of them.
    /// Only the copy of the session that asked, and only while that session lasts.
    fn forget_refused(&self, asked: &Asked, nhs: &NhsNumber, e: ClientError) -> AppError {
        if refusal_removes_copy(&e) && self.still_asking(asked) {
            if let (Ok(cache), Some(open)) = (&self.cache, &asked.key) {
                if let Err(err) = cache.remove(&open.key, &nhs.as_digits()) {
                    tracing::warn!(error = %err, "refused patient's offline copy not removed");
                }
            }
        }
        e.into()
    }

    /// The user's "yes" to "Is the patient attending an unscheduled care setting?" for a
    /// child on a protection plan: recorded by the spine, which notifies the organisation
    /// responsible for the child. For the session that asked only.
    pub async fn record_cp_attendance(&self, nhs_number: &str) -> Result<(), AppError> {
        let nhs = parse_nhs(nhs_number)?;
        let asked = self.asking()?;
        let spine = self.session.spine();
        self.ask(&asked, spine.record_cp_attendance(&asked.token, nhs))
            .await
            .ok_or_else(asker_gone)??;
        Ok(())
    }

    /// Records at the spine that the user is printing (or saving as PDF) the summary on
    /// screen; the window prints only once this has succeeded, so no paper copy exists
    /// without its audit entry. For the session that asked only.
    pub async fn record_print(&self, nhs_number: &str) -> Result<(), AppError> {
        let nhs = parse_nhs(nhs_number)?;
        let asked = self.asking()?;
        let spine = self.session.spine();
        self.ask(&asked, spine.record_print(&asked.token, nhs))
            .await
            .ok_or_else(asker_gone)??;
        Ok(())
    }

    pub async fn sharing(&self, nhs_number: &str) -> Result<SharingView, AppError> {
        let nhs = parse_nhs(nhs_number)?;
        let asked = self.asking()?;
        let record = self
            .ask(&asked, self.session.spine().consent(&asked.token, nhs))
            .await
            .ok_or_else(asker_gone)??;
        Ok(SharingView::from_model(record.as_ref()))
    }

    /// "Stay signed in", or the user active in the window without making requests: the
    /// spine's idle clock starts again, so it runs with the window's. An offline session
    /// has no spine to tell. If the spine says the session is over, it ends here too
    /// (`session-ended`), as after any request.
    pub async fn keep_alive(&self) -> Result<(), AppError> {
        if self.session.is_offline() {
            return Ok(());
        }
        let asked = self.asking()?;
        self.ask(&asked, self.session.spine().keep_alive(&asked.token))
            .await
            .ok_or_else(asker_gone)??;
        Ok(())
    }

    /// The privacy officer's alerts (their organisations'), newest first.
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertView>, AppError> {
        let query = filter.query()?;
        let asked = self.asking()?;
        let items = self
            .ask(&asked, self.session.spine().alerts(&asked.token, &query))
            .await
            .ok_or_else(asker_gone)??;
        Ok(items.iter().map(AlertView::from).collect())
    }

    /// Marks the alert `id` (`audit-N`) reviewed with the officer's note. Whether a note is
    /// enough, and whether the alert is theirs to review, is the spine's to decide.
    pub async fn review_alert(&self, id: &str, note: &str) -> Result<(), AppError> {
        let asked = self.asking()?;
        self.ask(
            &asked,
            self.session.spine().review_alert(&asked.token, id, note),
        )
        .await
        .ok_or_else(asker_gone)??;
        Ok(())
    }

    /// "Who has viewed this record": the summary reads of the patient in the officer's
    /// organisations, refusals included, newest first.
    pub async fn trail_for_patient(
        &self,
        nhs_number: &str,
    ) -> Result<Vec<TrailEntryView>, AppError> {
        let nhs = parse_nhs(nhs_number)?;
        self.trail(&TrailQuery {
            patient: Some(nhs),
            action: Some(AuditAction::SummaryRead),
            count: Some(OFFICER_PAGE),
            ..TrailQuery::default()
        })
        .await
    }

    /// The summary reads of `user_id` from [`AROUND_AN_ALERT`] before `at` (RFC 3339, an
    /// alert's time) to as long after: what else they opened around it.
    pub async fn trail_around(
        &self,
        user_id: &str,
        at: &str,
    ) -> Result<Vec<TrailEntryView>, AppError> {
        let at = DateTime::parse_from_rfc3339(at)
            .map_err(|_| {
                AppError::new(
                    AppErrorKind::InvalidDate,
                    "The alert's time is not a date and time.",
                )
            })?
            .with_timezone(&Utc);
        // An entry made before anyone signed in has no user, and so no accesses around it
        // (an empty agent would ask for everyone's).
        let Some(user) = blank_is_none(&Some(user_id.to_string())) else {
            return Ok(Vec::new());
        };
        let (since, until) = around(at);
        self.trail(&TrailQuery {
            agent: Some(user),
            action: Some(AuditAction::SummaryRead),
            since: Some(since),
            until: Some(until),
            count: Some(OFFICER_PAGE),
            ..TrailQuery::default()
        })
        .await
    }

    async fn trail(&self, query: &TrailQuery) -> Result<Vec<TrailEntryView>, AppError> {
        let asked = self.asking()?;
        let records = self
            .ask(
                &asked,
                self.session.spine().audit_trail(&asked.token, query),
            )
            .await
            .ok_or_else(asker_gone)??;
        Ok(records.iter().map(TrailEntryView::from).collect())
    }

    /// The registration authority's "Users and cards": the users, the role profiles of each
    /// (one request per user: the spine lists profiles by user) and the cards, all read for
    /// the session that asked. The spine refuses it to any role without RA-MANAGE.
    pub async fn registration(&self) -> Result<RegistrationView, AppError> {
        let asked = self.asking()?;
        let spine = self.session.spine();
        let users = self
            .ask(&asked, spine.ra_users(&asked.token))
            .await
            .ok_or_else(asker_gone)??;
        let mut profiles = Vec::with_capacity(users.len());
        for user in &users {
            let held = self
                .ask(&asked, spine.ra_role_profiles(&asked.token, &user.user_id))
                .await
                .ok_or_else(asker_gone)??;
            profiles.push((user.user_id.clone(), held.role_profiles));
        }
        let cards = self
            .ask(&asked, spine.ra_cards(&asked.token))
            .await
            .ok_or_else(asker_gone)??;
        Ok(RegistrationView::from_model(&users, &profiles, &cards))
    }

    /// "Register a user" (`USER_EXISTS`, `INVALID_REGISTRATION` are the spine's refusals).
    pub async fn register_user(&self, new: &NewUserInput) -> Result<RegisteredUserView, AppError> {
        let asked = self.asking()?;
        let body = scr_model::registration::NewUser {
            user_id: new.user_id.clone(),
            name: new.name.clone(),
        };
        let user = self
            .ask(
                &asked,
                self.session.spine().ra_register_user(&asked.token, &body),
            )
            .await
            .ok_or_else(asker_gone)??;
        Ok(RegisteredUserView {
            name: user.name.unwrap_or_else(|| new.name.trim().to_string()),
            user_id: user.user_id,
            role_profiles: Vec::new(),
            cards: Vec::new(),
        })
    }

    /// "Add a role profile" for `user_id`; the answer is the profile as the spine holds it.
    pub async fn add_role_profile(
        &self,
        user_id: &str,
        new: &NewRoleProfileInput,
    ) -> Result<RoleProfileView, AppError> {
        let asked = self.asking()?;
        let body = scr_model::registration::NewRoleProfile {
            id: None,
            role_code: new.role_code.clone(),
            role_name: new.role_name.clone(),
            org_ods: new.org_ods.clone(),
            org_name: new.org_name.clone(),
            activities: new.activities.clone(),
        };
        let spine = self.session.spine();
        let profile = self
            .ask(
                &asked,
                spine.ra_add_role_profile(&asked.token, user_id, &body),
            )
            .await
            .ok_or_else(asker_gone)??;
        Ok(RoleProfileView::from(&profile))
    }

    /// "Remove" a role profile: out of force at once. Returns how many live sessions were
    /// acting in it (they must choose a role again).
    pub async fn remove_role_profile(
        &self,
        user_id: &str,
        profile_id: &str,
    ) -> Result<u32, AppError> {
        let asked = self.asking()?;
        let spine = self.session.spine();
        let removed = self
            .ask(
                &asked,
                spine.ra_remove_role_profile(&asked.token, user_id, profile_id),
            )
            .await
            .ok_or_else(asker_gone)??;
        Ok(u32::try_from(removed.sessions_in_role).unwrap_or(u32::MAX))
    }

    /// "Revoke" a card: sign-in with it is refused from now on and its live sessions end.
    pub async fn revoke_card(
        &self,
        asked_for: &CardRevocationInput,
    ) -> Result<CardRevokedView, AppError> {
        let asked = self.asking()?;
        let body = scr_model::registration::CardRevocation {
            issuer: asked_for.issuer.clone(),
            reason: asked_for.reason.clone(),
        };
        let spine = self.session.spine();
        let revoked = self
            .ask(
                &asked,
                spine.ra_revoke_card(&asked.token, &asked_for.serial, &body),
            )
            .await
            .ok_or_else(asker_gone)??;
        Ok(CardRevokedView::from_model(&asked_for.serial, &revoked))
    }

    pub fn sign_out(&self) {
        self.session.end(scr_client::EndReason::SignedOut);
    }

    /// The page saw no activity for the idle timeout: end the session as the spine would.
    pub fn lock_idle(&self) {
        self.session.end(scr_client::EndReason::IdleTimeout);
    }
}
