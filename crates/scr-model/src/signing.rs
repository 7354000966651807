//! What the system's keys sign, written once for the signer and the verifier.
//!
//! A smartcard's authentication key (PIV slot 9A) signs more than one kind of thing: the
//! spine's sign-in challenge, the header of the user's offline cache, the local proof at an
//! offline sign-in. The card signs any digest it is given, so the only thing that keeps a
//! signature made for one of these from being passed off as another is the message itself:
//! every message starts with its own purpose label, and no label is a prefix of another.
//! A spine (or anyone who can point the app at their own "spine") then cannot choose a
//! challenge that makes the card sign a cache header, nor relay a sign-in to another
//! service: the sign-in message names the origin the app is talking to.

/// Sign-in: `SIGN_IN_LABEL ‖ len ‖ origin ‖ len ‖ challenge id ‖ nonce` ([`sign_in_message`]).
pub const SIGN_IN_LABEL: &[u8] = b"scr sign-in v1\0";
/// The card vouching for the offline cache header made for it (`scr-cache`).
pub const CACHE_HEADER_LABEL: &[u8] = b"scr-viewer cache header for this card v1\0";
/// An offline sign-in's proof that the card is the one that signed in online.
pub const OFFLINE_PROOF_LABEL: &[u8] = b"scr offline card proof v1\0";
/// The spine's own key over the audit chain head (not a card key; labelled all the same).
pub const AUDIT_CHECKPOINT_LABEL: &[u8] = b"scr-spine audit checkpoint v1\0";

/// Every purpose label; a test keeps them apart.
pub const ALL_LABELS: [&[u8]; 4] = [
    SIGN_IN_LABEL,
    CACHE_HEADER_LABEL,
    OFFLINE_PROOF_LABEL,
    AUDIT_CHECKPOINT_LABEL,
];

/// The size of a sign-in nonce, exactly: the spine makes 32 random bytes and the app refuses
/// any other size rather than let a spine choose a long, shaped message for the card.
pub const SIGN_IN_NONCE_LEN: usize = 32;

/// The origin of an HTTPS service as the sign-in message names it: `https://host` with the
/// port unless it is 443, the host in lower case and an IPv6 address in brackets. This is
/// the form a URL's origin is written in (`url::Origin::ascii_serialization`), so the app
/// (from its configured URL) and the spine (from its certificate's names and its port)
/// arrive at the same string.
pub fn https_origin(host: &str, port: u16) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.contains(':') {
        format!("[{}]", host.to_ascii_lowercase())
    } else {
        host.to_ascii_lowercase()
    };
    if port == 443 {
        format!("https://{host}")
    } else {
        format!("https://{host}:{port}")
    }
}

/// What the card signs to sign in. Each variable part is length-prefixed (two bytes, big
/// endian) so no two different (origin, challenge id) pairs give the same bytes.
pub fn sign_in_message(
    origin: &str,
    challenge_id: &str,
    nonce: &[u8; SIGN_IN_NONCE_LEN],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(
        SIGN_IN_LABEL.len() + 4 + origin.len() + challenge_id.len() + SIGN_IN_NONCE_LEN,
    );
    m.extend_from_slice(SIGN_IN_LABEL);
    push_prefixed(&mut m, origin.as_bytes());
    push_prefixed(&mut m, challenge_id.as_bytes());
    m.extend_from_slice(nonce);
    m
}

/// What the card signs at an offline sign-in: the label and a fresh local nonce.
pub fn offline_proof_message(nonce: &[u8; 32]) -> Vec<u8> {
    let mut m = OFFLINE_PROOF_LABEL.to_vec();
    m.extend_from_slice(nonce);
    m
}

/// Appends `part` with its length; parts longer than 65 535 bytes are cut there, which no
/// origin or challenge id comes near (the spine's ids are 24 characters).
fn push_prefixed(m: &mut Vec<u8>, part: &[u8]) {
    let part = &part[..part.len().min(u16::MAX as usize)];
    m.extend_from_slice(&(part.len() as u16).to_be_bytes());
    m.extend_from_slice(part);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_purpose_label_is_a_prefix_of_another() {
        for (i, a) in ALL_LABELS.iter().enumerate() {
            assert!(a.ends_with(b"\0"), "label {i} ends with NUL");
            for (j, b) in ALL_LABELS.iter().enumerate() {
                if i != j {
                    assert!(!b.starts_with(a), "label {i} is a prefix of label {j}");
                }
            }
        }
    }

    #[test]
    fn a_sign_in_message_is_never_another_purposes_message() {
        let m = sign_in_message("https://localhost:8443", "abc", &[7; 32]);
        assert!(m.starts_with(SIGN_IN_LABEL));
        for other in &ALL_LABELS[1..] {
            assert!(!m.starts_with(other));
        }
        assert!(offline_proof_message(&[7; 32]).starts_with(OFFLINE_PROOF_LABEL));
    }

    #[test]
    fn origin_and_challenge_cannot_trade_bytes() {
        let a = sign_in_message("https://a:1", "bc", &[0; 32]);
        let b = sign_in_message("https://a:1b", "c", &[0; 32]);
        assert_ne!(a, b);
    }

    #[test]
    fn origins_are_written_as_urls_write_them() {
        assert_eq!(https_origin("LocalHost", 8443), "https://localhost:8443");
        assert_eq!(
            https_origin("spine.nhs.example", 443),
            "https://spine.nhs.example"
        );
        assert_eq!(https_origin("::1", 8443), "https://[::1]:8443");
        assert_eq!(https_origin("[::1]", 8443), "https://[::1]:8443");
        assert_eq!(https_origin("127.0.0.1", 9000), "https://127.0.0.1:9000");
    }
}
