//! A PIV card in a PC/SC reader: connect, run PIV operations inside one PC/SC transaction,
//! and tell a pulled card apart from other communication failures.

use std::ffi::CString;
use std::time::Duration;

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use crate::apdu::Transport;
use crate::error::CardError;
use crate::piv::Piv;

/// Maps a PC/SC error to what it means for the user.
pub fn map_pcsc_error(error: pcsc::Error) -> CardError {
    use pcsc::Error as E;
    match error {
        E::NoService | E::ServiceStopped | E::CommError => CardError::ServiceUnavailable,
        E::NoReadersAvailable => CardError::NoReader,
        E::NoSmartcard => CardError::NoCard,
        E::RemovedCard => CardError::CardRemoved,
        E::Timeout => CardError::Timeout,
        E::UnknownReader | E::ReaderUnavailable => CardError::ReaderNotFound(String::new()),
        E::UnsupportedCard | E::UnresponsiveCard | E::UnpoweredCard => {
            CardError::Communication("the card does not respond".into())
        }
        other => CardError::Communication(other.to_string()),
    }
}

/// A reader's name and whether a card is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderStatus {
    pub name: String,
    pub card_present: bool,
    pub atr: Vec<u8>,
}

/// The PC/SC context: lists readers and opens cards.
#[derive(Clone)]
pub struct PcscContext {
    ctx: Context,
}

impl PcscContext {
    pub fn establish() -> Result<PcscContext, CardError> {
        Context::establish(Scope::User)
            .map(|ctx| PcscContext { ctx })
            .map_err(map_pcsc_error)
    }

    /// Every reader with its card state.
    pub fn readers(&self) -> Result<Vec<ReaderStatus>, CardError> {
        let names = match self.ctx.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
            Err(e) => return Err(map_pcsc_error(e)),
        };
        let mut states: Vec<ReaderState> = names
            .into_iter()
            .map(|n| ReaderState::new(n, State::UNAWARE))
            .collect();
        if states.is_empty() {
            return Ok(Vec::new());
        }
        self.ctx
            .get_status_change(Duration::ZERO, &mut states)
            .map_err(map_pcsc_error)?;
        Ok(states
            .iter()
            .map(|s| ReaderStatus {
                name: s.name().to_string_lossy().into_owned(),
                card_present: s.event_state().contains(State::PRESENT),
                atr: s.atr().to_vec(),
            })
            .collect())
    }

    /// The first reader holding a card, for callers that were not told which to use.
    pub fn first_reader_with_card(&self) -> Result<String, CardError> {
        let readers = self.readers()?;
        if readers.is_empty() {
            return Err(CardError::NoReader);
        }
        readers
            .into_iter()
            .find(|r| r.card_present)
            .map(|r| r.name)
            .ok_or(CardError::NoCard)
    }

    /// Connects to the card in `reader` (shared, so other apps can still see the reader).
    pub fn connect(&self, reader: &str) -> Result<CardConnection, CardError> {
        let name =
            CString::new(reader).map_err(|_| CardError::ReaderNotFound(reader.to_string()))?;
        let card = self
            .ctx
            .connect(&name, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| match map_pcsc_error(e) {
                CardError::ReaderNotFound(_) => CardError::ReaderNotFound(reader.to_string()),
                other => other,
            })?;
        Ok(CardConnection {
            card: Some(card),
            ctx: self.ctx.clone(),
            reader: name,
        })
    }
}

/// A connected card. Dropping it (or [`CardConnection::close`]) resets the card, so a
/// verified passcode does not outlive the operation that needed it.
pub struct CardConnection {
    card: Option<pcsc::Card>,
    ctx: Context,
    reader: CString,
}

impl CardConnection {
    pub fn reader(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }

    /// Runs `operation` on the PIV application inside one PC/SC transaction, so no other
    /// program's commands land between ours (between VERIFY and the signature, say).
    pub fn with_piv<R>(
        &mut self,
        operation: impl FnOnce(&mut Piv<'_>) -> Result<R, CardError>,
    ) -> Result<R, CardError> {
        let card = self.card.as_mut().ok_or(CardError::CardRemoved)?;
        let transaction = card.transaction().map_err(map_pcsc_error)?;
        let mut transport = PcscTransport {
            card: &transaction,
            ctx: &self.ctx,
            reader: &self.reader,
        };
        let mut piv = Piv::new(&mut transport);
        let result = piv.select().and_then(|()| operation(&mut piv));
        // Ending the transaction can fail only if the card is already gone; the operation's
        // own result says more.
        let _ = transaction.end(Disposition::LeaveCard);
        result
    }

    /// Disconnects without resetting: for a look that verified nothing, so a sign-in
    /// running in another connection is not disturbed.
    pub fn close_leaving(mut self) {
        if let Some(card) = self.card.take() {
            let _ = card.disconnect(Disposition::LeaveCard);
        }
    }

    /// Disconnects and resets the card (clears the verified passcode).
    pub fn close(mut self) {
        self.reset();
    }

    fn reset(&mut self) {
        if let Some(card) = self.card.take() {
            let _ = card.disconnect(Disposition::ResetCard);
        }
    }
}

impl Drop for CardConnection {
    fn drop(&mut self) {
        self.reset();
    }
}

struct PcscTransport<'a> {
    card: &'a pcsc::Card,
    ctx: &'a Context,
    reader: &'a CString,
}

impl PcscTransport<'_> {
    /// pcscd reports a pulled card first as "not transacted" and only about a second later
    /// as "removed" (it polls the reader). Wait briefly for the reader state to settle the
    /// question, so the caller hears `CardRemoved` rather than a vague failure.
    fn removed_or(&self, fallback: CardError) -> CardError {
        let mut state = vec![ReaderState::new(self.reader.clone(), State::PRESENT)];
        let deadline = std::time::Instant::now() + Duration::from_millis(1500);
        while std::time::Instant::now() < deadline {
            match self
                .ctx
                .get_status_change(Duration::from_millis(500), &mut state)
            {
                Ok(()) => {
                    let now = state[0].event_state();
                    if !now.contains(State::PRESENT) || now.contains(State::UNAVAILABLE) {
                        return CardError::CardRemoved;
                    }
                    state[0].sync_current_state();
                }
                Err(pcsc::Error::Timeout) => {}
                Err(_) => return CardError::CardRemoved,
            }
        }
        fallback
    }
}

impl Transport for PcscTransport<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut buffer = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        match self.card.transmit(apdu, &mut buffer) {
            // vpcd answers an empty response when the card vanishes mid-command.
            Ok([]) => Err(self.removed_or(CardError::malformed("an empty response"))),
            Ok(answer) => Ok(answer.to_vec()),
            Err(pcsc::Error::NotTransacted) | Err(pcsc::Error::ResetCard) => Err(self.removed_or(
                CardError::Communication("the card stopped answering".into()),
            )),
            Err(e) => Err(map_pcsc_error(e)),
        }
    }
}

/// Whether the card in `reader` has the PIV application (SELECT answers), without touching
/// its passcode state. `Ok(false)` is a card this app cannot use.
pub fn has_piv(reader: &str) -> Result<bool, CardError> {
    let ctx = PcscContext::establish()?;
    let mut connection = ctx.connect(reader)?;
    let result = connection.with_piv(|_| Ok(()));
    connection.close_leaving();
    match result {
        Ok(()) => Ok(true),
        Err(CardError::NotPivCard)
        | Err(CardError::Malformed(_))
        | Err(CardError::EndlessResponse)
        | Err(CardError::Refused(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Opens the card in `reader` and returns a context for further use.
pub fn open(reader: &str) -> Result<(PcscContext, CardConnection), CardError> {
    let ctx = PcscContext::establish()?;
    let connection = ctx.connect(reader)?;
    Ok((ctx, connection))
}
