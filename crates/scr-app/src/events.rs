//! What the window hears of the card session: a `card-status` after every reader change, and
//! a `session-ended` when the session ends (card pulled, reader gone, pcscd stopped, idle).
//!
//! The order matters for safety. A reader change needs a card probe, and a card can stall
//! (a stuck card in the other reader, say); the end of the session must never wait behind
//! one. So each probe runs in a task of its own, and the loop goes straight on to the next
//! event: the `Ended` that follows the pulled card's `Reader` event is handled at once.

use std::future::Future;

use scr_client::{EndReason, SessionEvent};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;
use ts_rs::TS;

use crate::offline::KeyHolder;
use crate::view::CardStatus;

/// The `session-ended` event's payload.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SessionEnded {
    pub reason: SessionEndReason,
    /// What the user is told.
    pub message: String,
}

/// Why the session ended, as the window hears it (scr_client::EndReason, one for one).
#[derive(Clone, Copy, Debug, Serialize, TS, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionEndReason {
    CardRemoved,
    CardChanged,
    ReaderDetached,
    CardServiceStopped,
    SignedOut,
    IdleTimeout,
    EndedBySpine,
}

impl From<EndReason> for SessionEndReason {
    fn from(reason: EndReason) -> Self {
        match reason {
            EndReason::CardRemoved => SessionEndReason::CardRemoved,
            EndReason::CardChanged => SessionEndReason::CardChanged,
            EndReason::ReaderDetached => SessionEndReason::ReaderDetached,
            EndReason::CardServiceStopped => SessionEndReason::CardServiceStopped,
            EndReason::SignedOut => SessionEndReason::SignedOut,
            EndReason::IdleTimeout => SessionEndReason::IdleTimeout,
            EndReason::EndedBySpine => SessionEndReason::EndedBySpine,
        }
    }
}

/// What the window is told without asking, in the order it happened. The shell emits
/// each under its [`AppEvent::name`].
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
#[serde(tag = "event", content = "payload", rename_all = "kebab-case")]
pub enum AppEvent {
    /// After every reader change: the card status the sign-in screen shows.
    CardStatus(CardStatus),
    /// The session ended (card pulled, reader gone, pcscd stopped, idle, the spine).
    SessionEnded(SessionEnded),
}

impl AppEvent {
    /// The window event's name (`card-status`, `session-ended`), as ui/src/ipc.ts listens.
    pub fn name(&self) -> &'static str {
        match self {
            AppEvent::CardStatus(_) => "card-status",
            AppEvent::SessionEnded(_) => "session-ended",
        }
    }
}

/// The app's own channel: [`crate::Viewer::start`] forwards into it.
impl EventSink for tokio::sync::mpsc::UnboundedSender<AppEvent> {
    fn card_status(&self, status: CardStatus) {
        // A closed receiver means the window is gone: nobody is left to tell.
        let _ = self.send(AppEvent::CardStatus(status));
    }

    fn session_ended(&self, ended: SessionEnded) {
        let _ = self.send(AppEvent::SessionEnded(ended));
    }
}

/// Where the events go: the app's channel ([`AppEvent`]), a recorder in tests.
pub trait EventSink: Clone + Send + Sync + 'static {
    fn card_status(&self, status: CardStatus);
    fn session_ended(&self, ended: SessionEnded);
}

/// Forwards the session's events to `sink` until the session's sender is gone. `probe` makes
/// the card status for a reader change (e.g. [`crate::Viewer::card_status_probed`]); it is
/// never awaited by this loop. Must run inside a Tokio runtime.
pub async fn forward_session_events<S, P, F>(
    mut events: UnboundedReceiver<SessionEvent>,
    probe: P,
    open_key: KeyHolder,
    sink: S,
) where
    S: EventSink,
    P: Fn() -> F,
    F: Future<Output = CardStatus> + Send + 'static,
{
    while let Some(event) = events.recv().await {
        match event {
            SessionEvent::Reader(_) => {
                let probed = probe();
                let sink = sink.clone();
                // Its own task: a stalling card holds up only its own status report.
                tokio::spawn(async move { sink.card_status(probed.await) });
            }
            SessionEvent::Ended { reason } => {
                // The cache key goes with the session, before the page hears of it.
                open_key.lock().unwrap_or_else(|p| p.into_inner()).take();
                sink.session_ended(SessionEnded {
                    reason: reason.into(),
                    message: reason.message().to_string(),
                });
            }
            SessionEvent::Revoked { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use scr_card::ReaderEvent;
    use tokio::sync::mpsc;

    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    enum Heard {
        Status(CardStatus),
        Ended(SessionEnded),
    }

    #[derive(Clone)]
    struct Recorder(mpsc::UnboundedSender<Heard>);

    impl EventSink for Recorder {
        fn card_status(&self, status: CardStatus) {
            let _ = self.0.send(Heard::Status(status));
        }
        fn session_ended(&self, ended: SessionEnded) {
            let _ = self.0.send(Heard::Ended(ended));
        }
    }

    /// The window reads a closed set of reasons (generated to TypeScript), not a Debug
    /// string of the client's enum.
    #[test]
    fn the_end_reason_reaches_the_window_as_a_code_of_the_closed_set() {
        let ended = SessionEnded {
            reason: EndReason::EndedBySpine.into(),
            message: EndReason::EndedBySpine.message().into(),
        };
        let json = serde_json::to_value(&ended).expect("json");
        assert_eq!(json["reason"], "ENDED_BY_SPINE");
        assert_eq!(json["message"], EndReason::EndedBySpine.message());
    }

    fn pulled(reader: &str) -> SessionEvent {
        SessionEvent::Reader(ReaderEvent::CardRemoved {
            reader: reader.into(),
        })
    }

    /// The card pulled while a probe of another reader's card never returns: the session
    /// still ends at once (issue 11, item 3).
    #[tokio::test]
    async fn a_session_ends_at_once_though_a_card_probe_never_returns() {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (heard_tx, mut heard) = mpsc::unbounded_channel();
        let key: KeyHolder = Arc::new(Mutex::new(None));
        let probes = Arc::new(Mutex::new(0u32));
        let counted = probes.clone();
        let forwarding = tokio::spawn(forward_session_events(
            events,
            move || {
                *counted.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                // A stalling card: the probe never answers.
                std::future::pending::<CardStatus>()
            },
            key,
            Recorder(heard_tx),
        ));
        events_tx.send(pulled("Virtual PCD 00 00")).expect("send");
        events_tx
            .send(SessionEvent::Ended {
                reason: EndReason::CardRemoved,
            })
            .expect("send");
        let first = tokio::time::timeout(Duration::from_millis(500), heard.recv())
            .await
            .expect("the session end is heard though the probe stalls")
            .expect("an event");
        match first {
            Heard::Ended(e) => assert_eq!(e.reason, SessionEndReason::CardRemoved),
            other => panic!("heard {other:?} before the session end"),
        }
        assert_eq!(*probes.lock().unwrap_or_else(|p| p.into_inner()), 1);
        // The loop is still there for the next event.
        events_tx.send(pulled("Virtual PCD 00 01")).expect("send");
        drop(events_tx);
        tokio::time::timeout(Duration::from_millis(500), forwarding)
            .await
            .expect("the loop ends with its sender, stalled probes or not")
            .expect("no panic");
        assert_eq!(*probes.lock().unwrap_or_else(|p| p.into_inner()), 2);
    }

    /// A probe that answers is reported, after a session end sent later if it is slow.
    #[tokio::test]
    async fn a_slow_probe_reports_after_the_session_end_it_did_not_hold_up() {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (heard_tx, mut heard) = mpsc::unbounded_channel();
        tokio::spawn(forward_session_events(
            events,
            || async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                CardStatus::NoReader
            },
            Arc::new(Mutex::new(None)),
            Recorder(heard_tx),
        ));
        events_tx.send(pulled("Virtual PCD 00 00")).expect("send");
        events_tx
            .send(SessionEvent::Ended {
                reason: EndReason::CardRemoved,
            })
            .expect("send");
        let mut order = Vec::new();
        for _ in 0..2 {
            let h = tokio::time::timeout(Duration::from_secs(2), heard.recv())
                .await
                .expect("heard within 2 s")
                .expect("an event");
            order.push(matches!(h, Heard::Ended(_)));
        }
        assert_eq!(order, [true, false], "[session end, then card status]");
    }
}
