//! The card's side of vsmartcard's vpcd protocol: the card is a TCP client of the reader's
//! port; every message is a 2-byte big-endian length and the bytes. One-byte messages are
//! controls (0 power off, 1 power on, 2 reset, 4 send the ATR); longer ones are command
//! APDUs, each answered with a response APDU. Closing the socket is pulling the card.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::applet::{Fault, PivApplet, RetryCounter};
use crate::identity::CardIdentity;

/// vpcd's first reader listens here; reader N listens on this port + N.
pub const VPCD_BASE_PORT: u16 = 35963;

/// The ATR: T=0 and T=1 offered, historical bytes "SCRVC", and the check byte.
pub fn atr() -> Vec<u8> {
    let mut atr = vec![0x3B, 0x85, 0x80, 0x01];
    atr.extend_from_slice(b"SCRVC");
    let check = atr[1..].iter().fold(0u8, |acc, b| acc ^ b);
    atr.push(check);
    atr
}

/// What to insert, and where.
#[derive(Clone, Debug)]
pub struct CardConfig {
    /// An identity folder written by `scr-demo seed`.
    pub identity: PathBuf,
    /// The vpcd reader port (127.0.0.1:35963 for reader 0).
    pub vpcd: SocketAddr,
    /// Where the passcode retry counter lives (default: `card-state.json` in the identity).
    pub state_file: Option<PathBuf>,
    pub fault: Fault,
}

impl CardConfig {
    pub fn new(identity: impl Into<PathBuf>, reader: u16) -> CardConfig {
        CardConfig {
            identity: identity.into(),
            vpcd: SocketAddr::from(([127, 0, 0, 1], VPCD_BASE_PORT + reader)),
            state_file: None,
            fault: Fault::None,
        }
    }

    pub fn state_path(&self) -> PathBuf {
        self.state_file
            .clone()
            .unwrap_or_else(|| self.identity.join("card-state.json"))
    }
}

/// A card in a reader. Dropping it, or [`InsertedCard::remove`], pulls it out.
pub struct InsertedCard {
    stream: TcpStream,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

/// Connects the card to vpcd and serves it on a background thread.
pub fn insert(config: &CardConfig) -> anyhow::Result<InsertedCard> {
    let identity = CardIdentity::load(&config.identity)?;
    let counter = RetryCounter::load(&config.state_path())?;
    let applet = PivApplet::new(identity, counter, config.fault);
    let stream = TcpStream::connect_timeout(&config.vpcd, Duration::from_secs(3)).map_err(|e| {
        anyhow::anyhow!(
            "cannot reach the virtual reader at {} ({e}); is pcscd running with vsmartcard-vpcd?",
            config.vpcd
        )
    })?;
    stream.set_nodelay(true)?;
    let served = stream.try_clone()?;
    let fault = config.fault;
    let thread = std::thread::Builder::new()
        .name("vcard".into())
        .spawn(move || serve(served, applet, fault))?;
    Ok(InsertedCard {
        stream,
        thread: Some(thread),
    })
}

impl InsertedCard {
    /// Pulls the card out (closes the connection) and waits for its thread.
    pub fn remove(mut self) {
        self.pull();
    }

    /// Blocks until the reader side closes the connection (or the card is removed).
    pub fn wait(mut self) -> std::io::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("card thread panicked"))),
            None => Ok(()),
        }
    }

    fn pull(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for InsertedCard {
    fn drop(&mut self) {
        self.pull();
    }
}

fn read_message(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    // vpcd writes the length and the payload separately; quick ACKs keep each APDU from
    // waiting out the peer's delayed-ACK timer (Linux resets the flag after use).
    let _ = socket2::SockRef::from(&*stream).set_quickack(true);
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
    let _ = socket2::SockRef::from(&*stream).set_quickack(true);
    stream.read_exact(&mut message)?;
    Ok(message)
}

fn write_message(stream: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(2 + payload.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

fn serve(mut stream: TcpStream, mut applet: PivApplet, fault: Fault) -> std::io::Result<()> {
    loop {
        let message = match read_message(&mut stream) {
            Ok(m) => m,
            // The reader went away or the card was pulled: both end the card's life.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        match message.as_slice() {
            [0] | [1] | [2] => applet.reset(),
            [4] => write_message(&mut stream, &atr())?,
            [_] => {}
            // A stalling card reads on (so pulling it still ends this thread) but never
            // answers: the reader's side waits for as long as the card stays in.
            _ if fault == Fault::Stall => {}
            apdu => {
                if let Fault::DropOn(ins) = fault {
                    if apdu.get(1) == Some(&ins) {
                        let _ = stream.shutdown(Shutdown::Both);
                        return Ok(());
                    }
                }
                let response = applet.process(apdu);
                if let Fault::Slow(ms) = fault {
                    std::thread::sleep(Duration::from_millis(ms));
                }
                write_message(&mut stream, &response)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_check_byte_makes_the_xor_zero() {
        let atr = atr();
        assert_eq!(atr[1..].iter().fold(0u8, |a, b| a ^ b), 0);
        assert_eq!(atr[0], 0x3B);
    }
}
