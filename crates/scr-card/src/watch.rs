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

struct Watch<F> {
    stop: Arc<AtomicBool>,
    context: Arc<Mutex<Option<Context>>>,
    sink: F,
    /// Reader name → card present.
    known: BTreeMap<String, bool>,
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
            known: BTreeMap::new(),
            service_up: None,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
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
        let readers: Vec<String> = self.known.keys().cloned().collect();
        for reader in readers {
            self.forget(&reader);
        }
        self.service_up = Some(false);
        (self.sink)(ReaderEvent::ServiceDown);
    }

    fn forget(&mut self, reader: &str) {
        if self.known.remove(reader) == Some(true) {
            (self.sink)(ReaderEvent::CardRemoved {
                reader: reader.to_string(),
            });
        }
        (self.sink)(ReaderEvent::ReaderDetached {
            reader: reader.to_string(),
        });
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
            let gone: Vec<String> = self
                .known
                .keys()
                .filter(|k| !names.contains(k))
                .cloned()
                .collect();
            for reader in gone {
                self.forget(&reader);
            }
            let mut states = vec![ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)];
            for name in &names {
                if !self.known.contains_key(name) {
                    self.known.insert(name.clone(), false);
                    (self.sink)(ReaderEvent::ReaderAttached {
                        reader: name.clone(),
                    });
                }
                // Names come from pcscd and hold no NUL; one that did could not be watched.
                if let Ok(c_name) = std::ffi::CString::new(name.as_str()) {
                    states.push(ReaderState::new(c_name, State::UNAWARE));
                }
            }
            let mut counts: Vec<Option<u32>> = vec![None; states.len()];
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
                        let present = now.contains(State::PRESENT);
                        let was = self.known.get(&name).copied().unwrap_or(false);
                        // A card swapped between two polls keeps PRESENT but bumps the
                        // reader's event count: report it as removal then insertion.
                        let swapped =
                            present && was && counts[i].is_some_and(|c| c != state.event_count());
                        if was && (!present || swapped) {
                            self.known.insert(name.clone(), false);
                            (self.sink)(ReaderEvent::CardRemoved {
                                reader: name.clone(),
                            });
                        }
                        if present && (!was || swapped) {
                            self.known.insert(name.clone(), true);
                            (self.sink)(ReaderEvent::CardInserted {
                                reader: name,
                                atr: state.atr().to_vec(),
                            });
                        }
                    }
                    counts[i] = Some(state.event_count());
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
