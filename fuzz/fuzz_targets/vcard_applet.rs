//! The virtual card's PIV applet (`scr_vcard::PivApplet`), fed what vpcd would send it: the
//! input is a stream of vpcd frames (`scr_fuzz::card::frames`), one-byte frames are vpcd's
//! controls as `vpcd::serve` handles them, every other frame is a command APDU for the same
//! applet, so its state (selection, the verified passcode, the retry counter, chained
//! commands, responses waiting for GET RESPONSE) carries from one APDU to the next.
//!
//! Besides "every answer, no panic", the card's security rules are checked from outside:
//! the retry counter only goes down, except back to full on a VERIFY answered 90 00; a
//! blocked card stays blocked; no GENERAL AUTHENTICATE succeeds unless a VERIFY succeeded
//! since the last reset.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scr_fuzz::card::{frames, PASSCODE};
use scr_vcard::{CardIdentity, Fault, PivApplet, RetryCounter, PASSCODE_TRIES};
use zeroize::Zeroizing;

/// The retry counter's folder: in memory where there is /dev/shm, since the applet writes
/// and syncs the counter on every VERIFY. One per process; its file is removed before each
/// input, so every input starts with a fresh card.
fn state_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("scr-fuzz-vcard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder for the card's retry counter");
        dir
    })
}

/// Fixed keys, so that every run answers the same; the certificates are only bytes to the
/// applet (it sends them as they are).
fn identity() -> CardIdentity {
    let key = |b: u8| p256::SecretKey::from_slice(&[b; 32]).expect("a valid scalar");
    CardIdentity {
        authentication_key: key(1),
        authentication_certificate: vec![0x30; 700],
        key_management_key: key(2),
        key_management_certificate: vec![0x30; 300],
        passcode: Zeroizing::new(PASSCODE.into()),
        guid: [9; 16],
    }
}

fuzz_target!(|data: &[u8]| {
    let path = state_dir().join("card-state.json");
    let _ = std::fs::remove_file(&path);
    let counter = RetryCounter::load(&path).expect("a fresh retry counter");
    let mut card = PivApplet::new(identity(), counter, Fault::None);
    let mut verified_since_reset = false;
    let mut authenticated = 0;
    for message in frames(data) {
        // A signature or an ECDH costs about 0.5 ms here (P-256 with coverage counters), 50
        // times the rest of an input: after a sign-in's two (a signature, an ECDH) more of
        // them only repeat the same arithmetic from the same state, so the input ends.
        if authenticated >= 2 {
            break;
        }
        match message {
            // Power off, power on, reset.
            [0] | [1] | [2] => {
                card.reset();
                verified_since_reset = false;
                continue;
            }
            // The ATR request (answered by vpcd::serve itself) and unknown controls.
            [_] => continue,
            _ => {}
        }
        let before = card.passcode_tries_left();
        let answer = card.process(message);
        assert!(answer.len() >= 2, "no status word for {message:02X?}");
        let sw = [answer[answer.len() - 2], answer[answer.len() - 1]];
        let after = card.passcode_tries_left();
        assert!(after <= PASSCODE_TRIES);
        // A whole command (CLA 00), not a part of a chained one (CLA 10).
        let ins = match message {
            [0x00, ins, _, _, ..] => Some(*ins),
            _ => None,
        };
        if after > before {
            assert!(before > 0, "a blocked card was unblocked by {message:02X?}");
            assert_eq!(after, PASSCODE_TRIES);
            assert_eq!((ins, sw), (Some(0x20), [0x90, 0x00]), "{message:02X?}");
        }
        if ins == Some(0x20) && sw == [0x90, 0x00] {
            // 90 00 to VERIFY: verified, or (P1 FF) signed out of the card.
            verified_since_reset = message[2] != 0xFF;
        }
        if ins == Some(0x87) && (sw[0] == 0x90 || sw[0] == 0x61) {
            assert!(
                verified_since_reset,
                "GENERAL AUTHENTICATE without the passcode: {message:02X?}"
            );
            authenticated += 1;
        }
    }
});
