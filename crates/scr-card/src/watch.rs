//! Watches readers and cards through PC/SC and reports each change as an event: reader
//! attached or detached (PnP notification), card inserted or removed, the smartcard service
//! going away and coming back. The first events describe what is there at start.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use pcsc::{Context, ReaderState, Scope, State, PNP_NOTIFICATION};

/// A change in the readers or cards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderEvent {
    /// pcscd is reachable (at start, or again after it was restarted).
    ServiceUp,
    /// pcscd went away; every reader and card it knew is gone with it.
    ServiceDown,
    ReaderAttached {
        reader: String,
    },
    ReaderDetached {
        reader: String,
    },
    CardInserted {
        reader: String,
        atr: Vec<u8>,
    },
    CardRemoved {
        reader: String,
    },
}

/// How often a blocked wait wakes to check for a stop request, and how often a missing
/// service is retried.
const WAIT: Duration = Duration::from_millis(1000);
const RETRY: Duration = Duration::from_millis(500);

/// A background thread that watches PC/SC. Stops when dropped.
pub struct ReaderWatcher {
    stop: Arc<AtomicBool>,
    context: Arc<Mutex<Option<Context>>>,
    thread: Option<JoinHandle<()>>,
}

impl ReaderWatcher {
    /// Starts watching; `sink` receives every event on the watcher's thread.
    pub fn spawn(sink: impl FnMut(ReaderEvent) + Send + 'static) -> std::io::Result<ReaderWatcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let context = Arc::new(Mutex::new(None));
        let thread = std::thread::Builder::new()
            .name("pcsc-watch".into())
            .spawn({
                let stop = stop.clone();
                let context = context.clone();
                move || Watch::new(stop, context, sink).run()
            })?;
        Ok(ReaderWatcher {
            stop,
            context,
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(guard) = self.context.lock() {
            if let Some(ctx) = guard.as_ref() {
                let _ = ctx.cancel();
            }
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ReaderWatcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the watcher knows of one reader, kept across polls *and* across re-reads of the
/// reader list (a reader plugged in or out elsewhere re-reads the list while this one keeps
/// its card).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Seen {
    present: bool,
    /// pcscd's event count for the reader when last seen; it goes up on every insertion and
    /// removal, so a card swapped between two looks shows as a different count.
    count: Option<u32>,
}

/// The watcher's decisions, apart from PC/SC: given reader lists and reader states as
/// pcscd reports them, which events to send. Kept pure so the awkward orders (a card
/// swapped while the list is re-read) are tested without a reader.
#[derive(Debug, Default)]
struct Tracker {
    known: BTreeMap<String, Seen>,
}

impl Tracker {
    /// A new reader list: readers that went are detached (their card removed first), new
    /// ones attached.
    fn relist(&mut self, names: &[String]) -> Vec<ReaderEvent> {
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect();
        let mut events = Vec::new();
        for reader in gone {
            events.extend(self.forget(&reader));
        }
        for name in names {
            // A reader that stays keeps what was seen of it, its event count included: the
            // first look after the re-read is compared with the last look before it, so a
            // card swapped in between is not taken for the same card.
            if !self.known.contains_key(name) {
                self.known.insert(name.clone(), Seen::default());
                events.push(ReaderEvent::ReaderAttached {
                    reader: name.clone(),
                });
            }
        }
        events
    }

    /// pcscd went away: every reader and card with it.
    fn clear(&mut self) -> Vec<ReaderEvent> {
        let readers: Vec<String> = self.known.keys().cloned().collect();
        readers.iter().flat_map(|r| self.forget(r)).collect()
    }

    fn forget(&mut self, reader: &str) -> Vec<ReaderEvent> {
        let mut events = Vec::new();
        if self.known.remove(reader).is_some_and(|s| s.present) {
            events.push(ReaderEvent::CardRemoved {
                reader: reader.to_string(),
            });
        }
        events.push(ReaderEvent::ReaderDetached {
            reader: reader.to_string(),
        });
        events
    }

    /// One reader's state as pcscd reports it now.
    fn observe(&mut self, reader: &str, present: bool, count: u32, atr: &[u8]) -> Vec<ReaderEvent> {
        let seen = self.known.entry(reader.to_string()).or_default();
        let was = seen.present;
        // A card swapped between two looks (two polls, or either side of a re-read of the
        // reader list) keeps PRESENT but bumps the reader's event count: report it as
        // removal then insertion, which ends a session bound to the first card. Not the
        // ATR: pcscd refreshes it after a warm reset (sign-in ends with one), and a card
        // whose warm ATR differs from its cold one is still the same card.
        let swapped = present && was && seen.count.is_some_and(|c| c != count);
        let mut events = Vec::new();
        if was && (!present || swapped) {
            events.push(ReaderEvent::CardRemoved {
                reader: reader.to_string(),
            });
        }
        if present && (!was || swapped) {
            events.push(ReaderEvent::CardInserted {
                reader: reader.to_string(),
                atr: atr.to_vec(),
            });
        }
        *seen = Seen {
            present,
            count: Some(count),
        };
        events
    }
}

struct Watch<F> {
    stop: Arc<AtomicBool>,
    context: Arc<Mutex<Option<Context>>>,
    sink: F,
    tracker: Tracker,
    service_up: Option<bool>,
}

/// Why one watch on a context ended.
enum Ended {
    Stopped,
    ServiceGone,
}

impl<F: FnMut(ReaderEvent)> Watch<F> {
    fn new(stop: Arc<AtomicBool>, context: Arc<Mutex<Option<Context>>>, sink: F) -> Self {
        Watch {
            stop,
            context,
            sink,
            tracker: Tracker::default(),
            service_up: None,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn send(&mut self, events: Vec<ReaderEvent>) {
        for event in events {
            (self.sink)(event);
        }
    }

    fn run(mut self) {
        while !self.stopped() {
            match Context::establish(Scope::User) {
                Ok(ctx) => {
                    if let Ok(mut slot) = self.context.lock() {
                        *slot = Some(ctx.clone());
                    }
                    if self.service_up != Some(true) {
                        self.service_up = Some(true);
                        (self.sink)(ReaderEvent::ServiceUp);
                    }
                    match self.watch(&ctx) {
                        Ended::Stopped => return,
                        Ended::ServiceGone => self.service_lost(),
                    }
                }
                Err(_) => {
                    if self.service_up != Some(false) {
                        self.service_lost();
                    }
                    std::thread::sleep(RETRY);
                }
            }
        }
    }

    fn service_lost(&mut self) {
        let events = self.tracker.clear();
        self.send(events);
        self.service_up = Some(false);
        (self.sink)(ReaderEvent::ServiceDown);
    }

    fn watch(&mut self, ctx: &Context) -> Ended {
        loop {
            // (Re)build the reader list; PnP changes and unknown readers come back here.
            let names: Vec<String> = match ctx.list_readers_owned() {
                Ok(names) => names
                    .iter()
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect(),
                Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
                Err(e) if service_gone(e) => return Ended::ServiceGone,
                Err(_) => Vec::new(),
            };
            let events = self.tracker.relist(&names);
            self.send(events);
            let mut states = vec![ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)];
            for name in &names {
                // Names come from pcscd and hold no NUL; one that did could not be watched.
                if let Ok(c_name) = std::ffi::CString::new(name.as_str()) {
                    states.push(ReaderState::new(c_name, State::UNAWARE));
                }
            }
            loop {
                if self.stopped() {
                    return Ended::Stopped;
                }
                match ctx.get_status_change(WAIT, &mut states) {
                    Ok(()) => {}
                    Err(pcsc::Error::Timeout) => continue,
                    Err(pcsc::Error::Cancelled) => {
                        if self.stopped() {
                            return Ended::Stopped;
                        }
                        continue;
                    }
                    Err(pcsc::Error::UnknownReader) => break,
                    Err(e) if service_gone(e) => return Ended::ServiceGone,
                    Err(_) => {
                        std::thread::sleep(RETRY);
                        break;
                    }
                }
                let mut refresh = false;
                for (i, state) in states.iter_mut().enumerate() {
                    let now = state.event_state();
                    if !now.contains(State::CHANGED) {
                        continue;
                    }
                    // The PnP pseudo-reader (index 0) or a reader in an odd state: re-list.
                    if i == 0 || now.intersects(State::UNKNOWN | State::UNAVAILABLE | State::IGNORE)
                    {
                        refresh = true;
                    } else {
                        let name = state.name().to_string_lossy().into_owned();
                        let events = self.tracker.observe(
                            &name,
                            now.contains(State::PRESENT),
                            state.event_count(),
                            state.atr(),
                        );
                        for event in events {
                            (self.sink)(event);
                        }
                    }
                    state.sync_current_state();
                }
                if refresh {
                    break;
                }
            }
        }
    }
}

fn service_gone(e: pcsc::Error) -> bool {
    matches!(
        e,
        pcsc::Error::NoService
            | pcsc::Error::ServiceStopped
            | pcsc::Error::InvalidHandle
            | pcsc::Error::CommError
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "Virtual PCD 00 00";
    const B: &str = "Virtual PCD 00 01";
    const ATR_1: &[u8] = &[0x3b, 0x80, 0x80, 0x01, 0x01];
    const ATR_2: &[u8] = &[0x3b, 0x8f, 0x80, 0x01, 0x80];

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn inserted(reader: &str, atr: &[u8]) -> ReaderEvent {
        ReaderEvent::CardInserted {
            reader: reader.into(),
            atr: atr.to_vec(),
        }
    }

    fn removed(reader: &str) -> ReaderEvent {
        ReaderEvent::CardRemoved {
            reader: reader.into(),
        }
    }

    /// A tracker that has seen one card (event count 1) in reader A.
    fn with_a_card() -> Tracker {
        let mut t = Tracker::default();
        assert_eq!(
            t.relist(&names(&[A])),
            vec![ReaderEvent::ReaderAttached { reader: A.into() }]
        );
        assert_eq!(t.observe(A, true, 1, ATR_1), vec![inserted(A, ATR_1)]);
        t
    }

    /// A card pulled and another put in while the reader list is re-read (a second reader
    /// plugged in): after the re-read pcscd shows the reader with a card, as before, but its
    /// event count has moved on. That is a removal and an insertion, so the session bound to
    /// the first card ends.
    #[test]
    fn a_card_swapped_while_the_reader_list_is_reread_is_a_removal_then_an_insertion() {
        let mut t = with_a_card();
        assert_eq!(
            t.relist(&names(&[A, B])),
            vec![ReaderEvent::ReaderAttached { reader: B.into() }]
        );
        // Removal (count 2) and insertion (count 3) both happened before this first look.
        assert_eq!(
            t.observe(A, true, 3, ATR_1),
            vec![removed(A), inserted(A, ATR_1)]
        );
        assert_eq!(t.observe(B, false, 0, &[]), vec![]);
    }

    /// The same card after a warm reset (sign-in ends with one) can show another ATR with
    /// the same event count: that is not a new card.
    #[test]
    fn another_atr_without_a_new_event_count_is_the_same_card() {
        let mut t = with_a_card();
        t.relist(&names(&[A, B]));
        assert_eq!(t.observe(A, true, 1, ATR_2), vec![]);
    }

    /// The same card left in place through a re-read is not a change: no session ends
    /// because another reader was plugged in.
    #[test]
    fn the_same_card_left_in_place_through_a_reread_is_no_change() {
        let mut t = with_a_card();
        t.relist(&names(&[A, B]));
        assert_eq!(t.observe(A, true, 1, ATR_1), vec![]);
        assert_eq!(
            t.relist(&names(&[A])),
            vec![ReaderEvent::ReaderDetached { reader: B.into() }]
        );
        assert_eq!(t.observe(A, true, 1, ATR_1), vec![]);
    }

    #[test]
    fn a_card_pulled_during_a_reread_is_a_removal() {
        let mut t = with_a_card();
        t.relist(&names(&[A, B]));
        assert_eq!(t.observe(A, false, 2, &[]), vec![removed(A)]);
    }

    #[test]
    fn a_swap_between_two_polls_is_a_removal_then_an_insertion() {
        let mut t = with_a_card();
        assert_eq!(
            t.observe(A, true, 3, ATR_1),
            vec![removed(A), inserted(A, ATR_1)]
        );
        assert_eq!(t.observe(A, true, 3, ATR_1), vec![]);
    }

    #[test]
    fn a_reader_gone_with_its_card_reports_the_removal_first() {
        let mut t = with_a_card();
        assert_eq!(
            t.relist(&names(&[])),
            vec![removed(A), ReaderEvent::ReaderDetached { reader: A.into() }]
        );
        let mut t = with_a_card();
        assert_eq!(
            t.clear(),
            vec![removed(A), ReaderEvent::ReaderDetached { reader: A.into() }]
        );
    }
}
