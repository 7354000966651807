//! The signed-in session, bound to the card it was opened with. Pulling that card, a
//! different card appearing in its reader, the reader going away or pcscd stopping ends
//! the session locally at once (the token is dropped before anything else happens) and
//! then revokes it on the spine; a spine that cannot be reached does not delay the end.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use scr_card::{Passcode, ReaderEvent, ReaderWatcher};
use scr_model::RoleProfile;
use tokio::sync::{mpsc, watch};

use crate::error::ClientError;
use crate::sign_in::{
    prove_and_agree, read_authentication_certificate, sign_in_agreeing, CardAsk, CardCertificates,
    KeyAgreement, OfflineTarget, SignedIn, CARD_STEP_TIMEOUT,
};
use crate::spine::{SessionToken, SpineClient};

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    CardRemoved,
    /// Another card appeared in the session's reader.
    CardChanged,
    ReaderDetached,
    /// pcscd stopped: the card can no longer be vouched for.
    CardServiceStopped,
    SignedOut,
    /// No activity in the app for the session's idle timeout.
    IdleTimeout,
    /// The spine says the session is over (idle or absolute expiry, or revoked).
    EndedBySpine,
}

impl EndReason {
    pub fn message(self) -> &'static str {
        match self {
            EndReason::CardRemoved => "Your smartcard was removed.",
            EndReason::CardChanged => "A different smartcard was inserted.",
            EndReason::ReaderDetached => "The smartcard reader was disconnected.",
            EndReason::CardServiceStopped => "The smartcard service stopped.",
            EndReason::SignedOut => "You signed out.",
            EndReason::IdleTimeout => "The app was idle for too long.",
            EndReason::EndedBySpine => "Your session has ended.",
        }
    }
}

/// What the session tells its owner (the app's UI, the CLI, tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// A reader or card changed (also while nobody is signed in).
    Reader(ReaderEvent),
    /// The session is over; the token is gone from memory.
    Ended { reason: EndReason },
    /// The spine was told (`true`), or could not be reached (`false`; the token will expire
    /// there on its own, and is no longer held here).
    Revoked { on_spine: bool },
}

/// The card state of one reader, as the watcher last reported it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ReaderView {
    pub card_present: bool,
    /// Bumped on every insertion, so a card swapped during sign-in is noticed.
    pub insertions: u64,
}

struct Active {
    /// `None` for an offline session: bound to the card all the same, but nothing to revoke.
    token: Option<SessionToken>,
    /// Distinguishes this session from every other one in the process.
    serial: u64,
    reader: String,
    insertions: u64,
    role: Option<RoleProfile>,
}

struct State {
    readers: BTreeMap<String, ReaderView>,
    service_up: bool,
    active: Option<Active>,
    sessions_started: u64,
}

/// The app's one session: tracks readers, signs in, holds the token, ends on card removal.
#[derive(Clone)]
pub struct CardSession {
    spine: SpineClient,
    state: Arc<Mutex<State>>,
    events: mpsc::UnboundedSender<SessionEvent>,
    readers_changed: Arc<watch::Sender<u64>>,
    runtime: tokio::runtime::Handle,
}

impl CardSession {
    /// Must be called inside a Tokio runtime (revocations are spawned on it).
    pub fn new(spine: SpineClient) -> (CardSession, mpsc::UnboundedReceiver<SessionEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let (readers_changed, _) = watch::channel(0);
        (
            CardSession {
                spine,
                state: Arc::new(Mutex::new(State {
                    readers: BTreeMap::new(),
                    service_up: false,
                    active: None,
                    sessions_started: 0,
                })),
                events,
                readers_changed: Arc::new(readers_changed),
                runtime: tokio::runtime::Handle::current(),
            },
            rx,
        )
    }

    /// Starts watching PC/SC and feeding this session. Keep the watcher alive as long as
    /// the session should react to cards.
    pub fn watch_cards(&self) -> std::io::Result<ReaderWatcher> {
        let session = self.clone();
        ReaderWatcher::spawn(move |event| session.handle(event))
    }

    pub fn spine(&self) -> &SpineClient {
        &self.spine
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic elsewhere; the state itself is still consistent
        // (every update is a single assignment), so carry on rather than lose the session.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies one reader event; ends the session if it concerns the session's card.
    pub fn handle(&self, event: ReaderEvent) {
        let ended = {
            let mut state = self.lock();
            let session_reader = state.active.as_ref().map(|a| a.reader.clone());
            let hits = |reader: &str| session_reader.as_deref() == Some(reader);
            let reason = match &event {
                ReaderEvent::ServiceUp => {
                    state.service_up = true;
                    None
                }
                ReaderEvent::ServiceDown => {
                    state.service_up = false;
                    state.readers.clear();
                    session_reader
                        .as_ref()
                        .map(|_| EndReason::CardServiceStopped)
                }
                ReaderEvent::ReaderAttached { reader } => {
                    state.readers.entry(reader.clone()).or_default();
                    None
                }
                ReaderEvent::ReaderDetached { reader } => {
                    state.readers.remove(reader);
                    hits(reader).then_some(EndReason::ReaderDetached)
                }
                ReaderEvent::CardInserted { reader, .. } => {
                    let view = state.readers.entry(reader.clone()).or_default();
                    view.card_present = true;
                    view.insertions += 1;
                    hits(reader).then_some(EndReason::CardChanged)
                }
                ReaderEvent::CardRemoved { reader } => {
                    state
                        .readers
                        .entry(reader.clone())
                        .or_default()
                        .card_present = false;
                    hits(reader).then_some(EndReason::CardRemoved)
                }
            };
            reason.and_then(|r| state.active.take().map(|a| (r, a.token)))
        };
        self.readers_changed.send_modify(|n| *n += 1);
        let _ = self.events.send(SessionEvent::Reader(event));
        if let Some((reason, token)) = ended {
            self.finish(reason, token);
        }
    }

    /// Emits the end at once, then revokes on the spine in the background (an offline
    /// session has nothing to revoke).
    fn finish(&self, reason: EndReason, token: Option<SessionToken>) {
        let _ = self.events.send(SessionEvent::Ended { reason });
        let Some(token) = token else { return };
        let spine = self.spine.clone();
        let events = self.events.clone();
        self.runtime.spawn(async move {
            let on_spine = match spine.end_session(&token).await {
                Ok(()) | Err(ClientError::SessionEnded) => true,
                Err(_) => false,
            };
            drop(token);
            let _ = events.send(SessionEvent::Revoked { on_spine });
        });
    }

    /// The readers and their cards, as last reported.
    pub fn readers(&self) -> BTreeMap<String, ReaderView> {
        self.lock().readers.clone()
    }

    pub fn service_up(&self) -> bool {
        self.lock().service_up
    }

    /// Waits until a card is present (in `reader`, or in any reader); returns its reader.
    pub async fn wait_for_card(
        &self,
        reader: Option<&str>,
        timeout: Duration,
    ) -> Result<String, ClientError> {
        let mut changed = self.readers_changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let state = self.lock();
                let found = state.readers.iter().find(|(name, view)| {
                    view.card_present && reader.is_none_or(|r| r == name.as_str())
                });
                if let Some((name, _)) = found {
                    return Ok(name.clone());
                }
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    let state = self.lock();
                    return Err(ClientError::Card(if !state.service_up {
                        scr_card::CardError::ServiceUnavailable
                    } else if state.readers.is_empty() {
                        scr_card::CardError::NoReader
                    } else {
                        scr_card::CardError::NoCard
                    }));
                }
            }
        }
    }

    /// Signs in with the card in `reader`. The session is bound to that card: if it was
    /// pulled or swapped while signing in, the new session is revoked at once.
    pub async fn sign_in(&self, reader: &str, passcode: Passcode) -> Result<SignedIn, ClientError> {
        self.sign_in_agreeing(reader, passcode, |_| CardAsk::default())
            .await
    }

    /// Starts a session bound to the card in `reader` if it is still the card that was
    /// there at `before`. Returns whether it did.
    fn bind(&self, reader: &str, before: &ReaderView, token: Option<SessionToken>) -> bool {
        let mut state = self.lock();
        let now = state.readers.get(reader).cloned().unwrap_or_default();
        let same = now.card_present && now.insertions == before.insertions;
        if same {
            state.sessions_started += 1;
            state.active = Some(Active {
                token,
                serial: state.sessions_started,
                reader: reader.to_string(),
                insertions: now.insertions,
                role: None,
            });
        }
        same
    }

    /// As [`CardSession::sign_in`], with the extra card work `ask` wants (see
    /// [`sign_in_agreeing`]).
    pub async fn sign_in_agreeing(
        &self,
        reader: &str,
        passcode: Passcode,
        ask: impl FnOnce(&CardCertificates) -> CardAsk,
    ) -> Result<SignedIn, ClientError> {
        let before = self.lock().readers.get(reader).cloned().unwrap_or_default();
        if !before.card_present {
            return Err(ClientError::Card(scr_card::CardError::NoCard));
        }
        if let Some(previous) = self.lock().active.take() {
            self.finish(EndReason::SignedOut, previous.token);
        }
        let signed =
            sign_in_agreeing(&self.spine, Some(reader), passcode, CARD_STEP_TIMEOUT, ask).await?;
        if !self.bind(reader, &before, Some(signed.token.clone())) {
            let spine = self.spine.clone();
            let token = signed.token.clone();
            self.runtime.spawn(async move {
                let _ = spine.end_session(&token).await;
            });
            return Err(ClientError::CardChangedDuringSignIn);
        }
        Ok(signed)
    }

    /// Signs in without the spine: the card in `reader` must prove it holds the key of the
    /// certificate recorded for offline use (`target` looks it up from the card's
    /// certificate; `None` = not set up on this machine) and answers the ECDH. The offline
    /// session is bound to the card exactly as an online one: pulling it ends the session.
    pub async fn sign_in_offline(
        &self,
        reader: &str,
        passcode: Passcode,
        target: impl FnOnce(&[u8]) -> Option<OfflineTarget>,
    ) -> Result<KeyAgreement, ClientError> {
        let before = self.lock().readers.get(reader).cloned().unwrap_or_default();
        if !before.card_present {
            return Err(ClientError::Card(scr_card::CardError::NoCard));
        }
        if let Some(previous) = self.lock().active.take() {
            self.finish(EndReason::SignedOut, previous.token);
        }
        let certificate = read_authentication_certificate(reader, CARD_STEP_TIMEOUT).await?;
        let target = target(&certificate).ok_or(ClientError::OfflineNotSetUp)?;
        let agreed = prove_and_agree(reader, passcode, target, CARD_STEP_TIMEOUT).await?;
        if !self.bind(reader, &before, None) {
            return Err(ClientError::CardChangedDuringSignIn);
        }
        Ok(agreed)
    }

    /// Which session is active, if any: a number no other session in this process has.
    pub fn session_serial(&self) -> Option<u64> {
        self.lock().active.as_ref().map(|a| a.serial)
    }

    /// Whether the active session is an offline one.
    pub fn is_offline(&self) -> bool {
        self.lock()
            .active
            .as_ref()
            .is_some_and(|a| a.token.is_none())
    }

    /// Chooses the role every later call acts in.
    /// The answer concerns the session that asked (its serial, taken with the token before
    /// the request): if another session began meanwhile, it is neither given the role nor
    /// ended by the spine's word on the earlier one.
    pub async fn select_role(&self, role_profile_id: &str) -> Result<RoleProfile, ClientError> {
        let (serial, token) = {
            let state = self.lock();
            let active = state.active.as_ref().ok_or(ClientError::SessionEnded)?;
            let token = active.token.clone().ok_or(ClientError::SessionEnded)?;
            (active.serial, token)
        };
        let result = self.spine.select_role(&token, role_profile_id).await;
        match result {
            Ok(role) => {
                let mut state = self.lock();
                match state.active.as_mut() {
                    Some(active) if active.serial == serial => {
                        active.role = Some(role.clone());
                        Ok(role)
                    }
                    _ => Err(ClientError::SessionEnded),
                }
            }
            Err(ClientError::SessionEnded) => {
                let ended = {
                    let mut state = self.lock();
                    match state.active.as_ref() {
                        Some(active) if active.serial == serial => state.active.take(),
                        _ => None,
                    }
                };
                if let Some(active) = ended {
                    self.finish(EndReason::EndedBySpine, active.token);
                }
                Err(ClientError::SessionEnded)
            }
            Err(e) => Err(e),
        }
    }

    /// The token, while the session lasts.
    pub fn token(&self) -> Option<SessionToken> {
        self.lock().active.as_ref().and_then(|a| a.token.clone())
    }

    pub fn role(&self) -> Option<RoleProfile> {
        self.lock().active.as_ref().and_then(|a| a.role.clone())
    }

    /// The reader and insertion count the session is bound to.
    pub fn bound_card(&self) -> Option<(String, u64)> {
        self.lock()
            .active
            .as_ref()
            .map(|a| (a.reader.clone(), a.insertions))
    }

    /// Takes the spine's answer to a call made for the session `serial`: `None` if that
    /// session is over (the answer, or refusal, belongs to nobody now); and if the spine
    /// says the session has ended, it is ended here too, but only if it is still that one.
    pub fn settle<T>(
        &self,
        serial: u64,
        answer: Result<T, ClientError>,
    ) -> Option<Result<T, ClientError>> {
        let mut state = self.lock();
        if state.active.as_ref().map(|a| a.serial) != Some(serial) {
            return None;
        }
        if matches!(answer, Err(ClientError::SessionEnded)) {
            if let Some(active) = state.active.take() {
                drop(state);
                self.finish(EndReason::EndedBySpine, active.token);
            }
        }
        Some(answer)
    }

    /// Ends the session (sign out, or the spine said it is over).
    pub fn end(&self, reason: EndReason) {
        let active = self.lock().active.take();
        if let Some(active) = active {
            self.finish(reason, active.token);
        }
    }
}
