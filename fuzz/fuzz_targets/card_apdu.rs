//! The viewer's side of a smartcard conversation: whatever a card (or a reader driver) answers,
//! the client's response handling (`scr_card::apdu`: status words, `61xx` GET RESPONSE
//! chaining, the caps on both) and its PIV parsing (`scr_card::piv`: SELECT's template, the
//! certificate objects, the passcode status, the GENERAL AUTHENTICATE answers) must give a
//! value or a `CardError`, never a panic or a hang.
//!
//! The input is the card: byte 0 picks one of the app's card steps, the rest is the card's
//! answers in order, each framed as vpcd frames them (`scr_fuzz::card::frames`). When the
//! answers run out the card is pulled (`CardRemoved`), as a card is mid-command. No PC/SC:
//! the `Transport` is scripted, as in the crate's unit tests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scr_card::apdu::{self, Command, Transport, GET_RESPONSE_MAX, RESPONSE_MAX};
use scr_card::piv::{self, PasscodeStatus, Piv, Slot};
use scr_card::{CardError, Passcode};
use scr_fuzz::card::{frames, peer, NONCE, PASSCODE};
use sha2::{Digest, Sha256};

/// The largest short command APDU: header, Lc, 255 bytes, Le.
const SHORT_APDU_MAX: usize = 4 + 1 + 255 + 1;

struct Scripted<'a> {
    answers: std::vec::IntoIter<&'a [u8]>,
    sent: Vec<Vec<u8>>,
    answered: Vec<&'a [u8]>,
}

impl Transport for Scripted<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        // The client only ever speaks short APDUs (extended length is optional in PIV).
        assert!(
            (4..=SHORT_APDU_MAX).contains(&apdu.len()),
            "a command of {} bytes",
            apdu.len()
        );
        self.sent.push(apdu.to_vec());
        let answer = self.answers.next().ok_or(CardError::CardRemoved)?;
        self.answered.push(answer);
        Ok(answer.to_vec())
    }
}

/// What the app does with an error: shows its message and branches on its code.
fn seen<T>(r: Result<T, CardError>) -> Result<T, CardError> {
    if let Err(e) = &r {
        let _ = (e.to_string(), e.code());
        if let CardError::WrongPasscode { tries_left } = e {
            // 63C0 is "blocked", so a wrong passcode always leaves 1 to 15 tries.
            assert!((1..=15).contains(tries_left), "{e:?}");
        }
    }
    r
}

/// `CardConnection::with_piv`: SELECT, then the operation.
fn with_piv<R>(
    card: &mut Scripted<'_>,
    operation: impl FnOnce(&mut Piv<'_>) -> Result<R, CardError>,
) -> Result<R, CardError> {
    let mut piv = Piv::new(card);
    seen(piv.select().and_then(|()| operation(&mut piv)))
}

/// The checks `sign_in_agreeing` makes on the certificates the card gave.
fn certificate_used(der: &[u8]) {
    let _ = piv::certificate_public_key(der);
    let _ = piv::certificate_fingerprint(der);
}

/// `scr_client::sign_in::sign_in_agreeing`'s two card steps and the signature check.
fn sign_in(card: &mut Scripted<'_>) {
    let certificates = with_piv(card, |piv| {
        let authentication = piv.read_certificate(Slot::Authentication)?;
        let key_management = match piv.read_certificate(Slot::KeyManagement) {
            Ok(c) => Some(c),
            Err(CardError::NoCertificate(_))
            | Err(CardError::Malformed(_))
            | Err(CardError::EndlessResponse) => None,
            Err(e) => return Err(e),
        };
        Ok((authentication, key_management))
    });
    let Ok((authentication, key_management)) = certificates else {
        return;
    };
    certificate_used(&authentication);
    if let Some(km) = &key_management {
        certificate_used(km);
    }
    let passcode = Passcode::new(PASSCODE.into()).expect("a valid passcode");
    let digest: [u8; 32] = Sha256::digest(NONCE).into();
    let answers = with_piv(card, |piv| {
        piv.verify(&passcode)?;
        let signature = piv.sign_digest(&digest)?;
        let agreed = piv.ecdh(&peer())?;
        Ok((signature, agreed))
    });
    if let Ok((signature, agreed)) = answers {
        assert_eq!(agreed.len(), 32);
        let _ = piv::signature_matches(&authentication, NONCE, &signature);
    }
}

/// `read_authentication_certificate` (and `has_piv`, which is its SELECT).
fn read_certificate(card: &mut Scripted<'_>) {
    if let Ok(der) = with_piv(card, |piv| piv.read_certificate(Slot::Authentication)) {
        certificate_used(&der);
    }
}

/// The passcode state before and after a VERIFY (the sign-in screen's "tries left").
fn passcode(card: &mut Scripted<'_>) {
    let passcode = Passcode::new(PASSCODE.into()).expect("a valid passcode");
    let _ = with_piv(card, |piv| {
        let before = seen(piv.passcode_status());
        let verified = seen(piv.verify(&passcode));
        let after = seen(piv.passcode_status());
        for status in [before, after].into_iter().flatten() {
            if let PasscodeStatus::TriesLeft(n) = status {
                assert!((1..=15).contains(&n), "{status:?}");
            }
        }
        verified
    });
}

/// GET DATA of any object (the tag from the first frame).
fn get_data(card: &mut Scripted<'_>, tag: &[u8]) {
    let _ = with_piv(card, |piv| piv.get_data(tag));
}

/// One command (from the first frame: INS P1 P2 Le data…) through `apdu::exchange`, with
/// what it sent checked against ISO 7816-4.
fn exchange(card: &mut Scripted<'_>, spec: &[u8]) {
    let [ins, p1, p2, le, data @ ..] = spec else {
        return;
    };
    let le = match le {
        0 => None,
        0xFF => Some(256),
        n => Some(u16::from(*n)),
    };
    let command = Command::new(*ins, *p1, *p2, data.to_vec(), le);
    let parts = command.encode_chained();
    let result = seen(apdu::exchange(card, &command));
    // The parts go first, as encoded.
    for (sent, part) in card.sent.iter().zip(&parts) {
        assert_eq!(sent, part);
    }
    if card.sent.len() < parts.len() {
        // A part was refused or the card went: nothing else was sent.
        return;
    }
    // Then only GET RESPONSEs, each for what the answer before it announced, and no more
    // of them than the cap.
    let gets = card.sent.len() - parts.len();
    assert!(gets <= GET_RESPONSE_MAX, "{gets} GET RESPONSEs");
    for i in parts.len()..card.sent.len() {
        let before = card.answered[i - 1];
        let sw = &before[before.len() - 2..];
        assert_eq!(sw[0], 0x61);
        let n = if sw[1] == 0 { 256 } else { u16::from(sw[1]) };
        assert_eq!(card.sent[i], apdu::get_response(n));
    }
    if let Ok(response) = result {
        // A whole answer: no more announced, within the cap, and every byte the card sent
        // after the last part, in order.
        assert_ne!(response.sw >> 8, 0x61);
        assert!(response.data.len() <= RESPONSE_MAX);
        let data: Vec<u8> = card.answered[parts.len() - 1..]
            .iter()
            .flat_map(|a| &a[..a.len() - 2])
            .copied()
            .collect();
        assert_eq!(response.data, data);
        let last = card.answered[card.answered.len() - 1];
        assert_eq!(
            response.sw,
            u16::from_be_bytes([last[last.len() - 2], last[last.len() - 1]])
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let mut answers = frames(rest);
    // The raw steps take their command from the first frame.
    let spec = if step % 5 >= 3 && !answers.is_empty() {
        answers.remove(0)
    } else {
        &[]
    };
    let mut card = Scripted {
        answers: answers.into_iter(),
        sent: Vec::new(),
        answered: Vec::new(),
    };
    match step % 5 {
        0 => sign_in(&mut card),
        1 => read_certificate(&mut card),
        2 => passcode(&mut card),
        3 => get_data(&mut card, spec),
        _ => exchange(&mut card, spec),
    }
});
