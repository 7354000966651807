//! Shared by the smartcard targets (`card_apdu`, `vcard_applet`) and their seeds: how one fuzz
//! input is cut into several messages, and the fixed inputs both sides of a conversation must
//! agree on (the passcode, the sign-in nonce, the ECDH peer).
//!
//! A message is framed as vpcd frames it on the wire between the reader and the virtual card
//! (`crates/scr-vcard/src/vpcd.rs`): a 2-byte big-endian length, then the bytes. A last
//! frame that is cut short keeps what is there, so no input is wasted on a length that
//! does not fit.

/// The passcode of the fuzzed card, and the one the client sends.
pub const PASSCODE: &str = "246810";

/// What the spine's challenge would be; the client signs its SHA-256.
pub const NONCE: &[u8] = b"scr-fuzz sign-in challenge nonce";

/// The public key the client asks the 9D key to agree with (the offline cache's).
pub fn peer() -> p256::PublicKey {
    p256::SecretKey::from_slice(&[3; 32])
        .expect("[3; 32] is a valid P-256 scalar")
        .public_key()
}

/// Splits `data` into frames (see the module comment).
pub fn frames(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let n = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        let (frame, after) = rest.split_at(n);
        out.push(frame);
        data = after;
    }
    out
}

/// Frames `messages` so that [`frames`] gives them back (each at most 65535 bytes).
pub fn framed<'a>(messages: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let n = u16::try_from(m.len()).expect("a frame of at most 65535 bytes");
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}
