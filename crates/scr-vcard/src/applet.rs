//! The PIV card application of the virtual card: the subset of SP 800-73-4 that SCR Viewer
//! and OpenSC use, answering with real P-256 keys.

use std::path::{Path, PathBuf};

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use scr_card::piv::{ALG_ECC_P256, PIV_AID};
use scr_card::tlv;
use serde::{Deserialize, Serialize};

use crate::identity::CardIdentity;

/// Passcode tries a fresh card has.
pub const PASSCODE_TRIES: u8 = 3;

const SW_OK: [u8; 2] = [0x90, 0x00];
const SW_WRONG_LENGTH: [u8; 2] = [0x67, 0x00];
const SW_SECURITY_NOT_SATISFIED: [u8; 2] = [0x69, 0x82];
const SW_BLOCKED: [u8; 2] = [0x69, 0x83];
const SW_WRONG_DATA: [u8; 2] = [0x6A, 0x80];
const SW_NOT_FOUND: [u8; 2] = [0x6A, 0x82];
const SW_WRONG_P1P2: [u8; 2] = [0x6A, 0x86];
const SW_INS_NOT_SUPPORTED: [u8; 2] = [0x6D, 0x00];
const SW_CLA_NOT_SUPPORTED: [u8; 2] = [0x6E, 0x00];
const SW_NO_PRECISE_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// The passcode retry counter, kept in a file so that pulling and re-inserting the card (or
/// restarting the program) does not give an attacker fresh tries.
#[derive(Debug)]
pub struct RetryCounter {
    path: PathBuf,
    tries_left: u8,
}

#[derive(Serialize, Deserialize)]
struct CounterFile {
    passcode_tries_left: u8,
}

impl RetryCounter {
    /// Loads the counter; a missing file is a fresh card. An unreadable one is an error:
    /// guessing would either unblock a blocked card or block a good one.
    pub fn load(path: &Path) -> anyhow::Result<RetryCounter> {
        let tries_left = match std::fs::read(path) {
            Ok(bytes) => {
                let file: CounterFile = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "card state {} is damaged ({e}); run `scr-vcard reset`",
                        path.display()
                    )
                })?;
                file.passcode_tries_left.min(PASSCODE_TRIES)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PASSCODE_TRIES,
            Err(e) => anyhow::bail!("cannot read card state {}: {e}", path.display()),
        };
        Ok(RetryCounter {
            path: path.to_path_buf(),
            tries_left,
        })
    }

    pub fn tries_left(&self) -> u8 {
        self.tries_left
    }

    /// Sets and persists the counter (write a temporary file, then rename: all or nothing).
    pub fn set(&mut self, tries_left: u8) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let json = serde_json::to_vec(&CounterFile {
            passcode_tries_left: tries_left,
        })
        .map_err(std::io::Error::other)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.tries_left = tries_left;
        Ok(())
    }
}

/// A parsed command APDU (short or extended length, any ISO case).
struct Apdu<'a> {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &'a [u8],
    /// The expected response length; `None` when the command carried no Le (then a short
    /// command still gets up to 256 bytes, as cards answer OpenSC's Le-less commands).
    le: Option<usize>,
}

fn parse_apdu(raw: &[u8]) -> Option<Apdu<'_>> {
    let (header, body) = raw.split_at_checked(4)?;
    let mut apdu = Apdu {
        cla: header[0],
        ins: header[1],
        p1: header[2],
        p2: header[3],
        data: &[],
        le: None,
    };
    let short_le = |b: u8| Some(if b == 0 { 256 } else { usize::from(b) });
    let extended_le = |hi: u8, lo: u8| {
        let n = usize::from(u16::from_be_bytes([hi, lo]));
        Some(if n == 0 { 65536 } else { n })
    };
    match body.len() {
        0 => {}
        1 => apdu.le = short_le(body[0]),
        _ if body[0] != 0 => {
            // Short: Lc data [Le].
            let lc = usize::from(body[0]);
            let rest = &body[1..];
            if rest.len() == lc + 1 {
                apdu.le = short_le(rest[lc]);
            } else if rest.len() != lc {
                return None;
            }
            apdu.data = &rest[..lc];
        }
        // 00 and one byte: neither a short Lc (never 00) nor an extended length (three
        // bytes), so a wrong length rather than a read past the end.
        2 => return None,
        3 => apdu.le = extended_le(body[1], body[2]), // 00 Le Le
        _ => {
            // Extended: 00 Lc Lc data [Le Le], with Lc from 1 to 65535.
            let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
            let rest = &body[3..];
            if lc == 0 {
                return None;
            }
            if rest.len() == lc + 2 {
                apdu.le = extended_le(rest[lc], rest[lc + 1]);
            } else if rest.len() != lc {
                return None;
            }
            apdu.data = &rest[..lc];
        }
    }
    Some(apdu)
}

/// How a card misbehaves, for tests of the client's defences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// After SELECT, every answer is well-framed nonsense.
    Garbage,
    /// Every answer comes this many milliseconds late.
    Slow(u64),
    /// The card disappears on receiving this instruction (0x87: mid-signature).
    DropOn(u8),
    /// A smartcard without the PIV application (a bank card in the reader, say).
    NotPiv,
    /// Never answers a command APDU (power and ATR requests still are), so the card looks
    /// present and every exchange with it hangs until the card is pulled: a stuck card, or
    /// another program's card wedged mid-command, in a reader the app also watches.
    Stall,
}

/// The PIV application state for one power-on of the card.
pub struct PivApplet {
    identity: CardIdentity,
    counter: RetryCounter,
    fault: Fault,
    selected: bool,
    verified: bool,
    /// Data of a chained command received so far.
    chain: Vec<u8>,
    /// Response bytes waiting for GET RESPONSE.
    pending: Vec<u8>,
}

impl PivApplet {
    pub fn new(identity: CardIdentity, counter: RetryCounter, fault: Fault) -> PivApplet {
        PivApplet {
            identity,
            counter,
            fault,
            selected: true,
            verified: false,
            chain: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Power off, power on or reset: security state and buffers are cleared.
    pub fn reset(&mut self) {
        // PIV is this card's default application, selected at power-on (OpenSC reads the
        // discovery object before selecting anything).
        self.selected = true;
        self.verified = false;
        self.chain.clear();
        self.pending.clear();
    }

    pub fn passcode_tries_left(&self) -> u8 {
        self.counter.tries_left()
    }

    /// Answers one command APDU.
    pub fn process(&mut self, raw: &[u8]) -> Vec<u8> {
        let Some(apdu) = parse_apdu(raw) else {
            return SW_WRONG_LENGTH.to_vec();
        };
        if apdu.cla & !0x10 != 0x00 {
            return SW_CLA_NOT_SUPPORTED.to_vec();
        }
        if self.fault == Fault::NotPiv {
            return match apdu.ins {
                0xA4 => SW_NOT_FOUND.to_vec(),
                _ => SW_INS_NOT_SUPPORTED.to_vec(),
            };
        }
        if self.fault == Fault::Garbage && apdu.ins != 0xA4 {
            return vec![0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00];
        }
        if apdu.ins == 0xC0 {
            return self.next_pending(apdu.p1, apdu.p2, apdu.le.unwrap_or(256));
        }
        self.pending.clear();
        if apdu.cla & 0x10 != 0 {
            // Command chaining: keep the part, answer OK, act on the last part.
            if self.chain.len() + apdu.data.len() > 8192 {
                self.chain.clear();
                return SW_WRONG_LENGTH.to_vec();
            }
            self.chain.extend_from_slice(apdu.data);
            return SW_OK.to_vec();
        }
        let data = if self.chain.is_empty() {
            apdu.data.to_vec()
        } else {
            let mut all = std::mem::take(&mut self.chain);
            all.extend_from_slice(apdu.data);
            all
        };
        let (body, sw) = match apdu.ins {
            0xA4 => self.select(&apdu, &data),
            _ if !self.selected => (Vec::new(), SW_NOT_FOUND),
            0xCB => self.get_data(&apdu, &data),
            0x20 => self.verify(&apdu, &data),
            0x87 => self.general_authenticate(&apdu, &data),
            _ => (Vec::new(), SW_INS_NOT_SUPPORTED),
        };
        self.respond(body, sw, apdu.le.unwrap_or(256))
    }

    /// Sends at most `le` bytes now; the rest waits for GET RESPONSE (`61xx`).
    fn respond(&mut self, body: Vec<u8>, sw: [u8; 2], le: usize) -> Vec<u8> {
        if body.len() <= le {
            let mut out = body;
            out.extend_from_slice(&sw);
            return out;
        }
        self.pending = body;
        self.next_pending(0, 0, le)
    }

    fn next_pending(&mut self, p1: u8, p2: u8, want: usize) -> Vec<u8> {
        if p1 != 0 || p2 != 0 {
            return SW_WRONG_P1P2.to_vec();
        }
        if self.pending.is_empty() {
            return SW_NO_PRECISE_DIAGNOSIS.to_vec();
        }
        let n = want.min(self.pending.len());
        let mut out: Vec<u8> = self.pending.drain(..n).collect();
        match self.pending.len() {
            0 => out.extend_from_slice(&SW_OK),
            left => out.extend_from_slice(&[0x61, if left >= 256 { 0 } else { left as u8 }]),
        }
        out
    }

    fn select(&mut self, apdu: &Apdu<'_>, aid: &[u8]) -> (Vec<u8>, [u8; 2]) {
        // SP 800-73 allows selection by the right-truncated AID; OpenSC uses A0 00 00 03 08.
        if apdu.p1 != 0x04 || aid.len() < 5 || !PIV_AID.starts_with(aid) {
            self.selected = false;
            return (Vec::new(), SW_NOT_FOUND);
        }
        self.selected = true;
        let template = [
            // The PIX: the AID after the 5-byte registered identifier (00 00 10 00 01 00).
            tlv::encode(&[0x4F], &PIV_AID[5..]),
            tlv::encode(&[0x79], &tlv::encode(&[0x4F], &PIV_AID[..5])),
        ]
        .concat();
        (tlv::encode(&[0x61], &template), SW_OK)
    }

    fn get_data(&mut self, apdu: &Apdu<'_>, data: &[u8]) -> (Vec<u8>, [u8; 2]) {
        if apdu.p1 != 0x3F || apdu.p2 != 0xFF {
            return (Vec::new(), SW_WRONG_P1P2);
        }
        let tag = match tlv::parse_one(data) {
            Ok((t, rest)) if t.tag == 0x5C && rest.is_empty() => t.value.to_vec(),
            _ => return (Vec::new(), SW_WRONG_DATA),
        };
        let certificate = |der: &[u8]| {
            let inner = [
                tlv::encode(&[0x70], der),
                tlv::encode(&[0x71], &[0x00]),
                tlv::encode(&[0xFE], &[]),
            ]
            .concat();
            tlv::encode(&[0x53], &inner)
        };
        match tag.as_slice() {
            [0x5F, 0xC1, 0x05] => (
                certificate(&self.identity.authentication_certificate),
                SW_OK,
            ),
            [0x5F, 0xC1, 0x0B] => (
                certificate(&self.identity.key_management_certificate),
                SW_OK,
            ),
            [0x5F, 0xC1, 0x02] => (self.chuid(), SW_OK),
            [0x7E] => {
                // Discovery object: the AID and a PIN usage policy of "PIV PIN only".
                let body = [
                    tlv::encode(&[0x4F], &PIV_AID),
                    tlv::encode(&[0x5F, 0x2F], &[0x40, 0x00]),
                ]
                .concat();
                (tlv::encode(&[0x7E], &body), SW_OK)
            }
            _ => (Vec::new(), SW_NOT_FOUND),
        }
    }

    /// Card Holder Unique Identifier: a FASC-N of the "no agency" kind, the card GUID, an
    /// expiry date and an empty signature (the virtual card is not issuer-signed).
    fn chuid(&self) -> Vec<u8> {
        let mut fascn = [0u8; 25];
        fascn[0] = 0xD4;
        let inner = [
            tlv::encode(&[0x30], &fascn),
            tlv::encode(&[0x34], &self.identity.guid),
            tlv::encode(&[0x35], b"20301231"),
            tlv::encode(&[0x3E], &[]),
            tlv::encode(&[0xFE], &[]),
        ]
        .concat();
        tlv::encode(&[0x53], &inner)
    }

    fn verify(&mut self, apdu: &Apdu<'_>, data: &[u8]) -> (Vec<u8>, [u8; 2]) {
        if apdu.p2 != 0x80 {
            return (Vec::new(), SW_NOT_FOUND);
        }
        if apdu.p1 == 0xFF {
            // Reset the security status (sign out of the card).
            self.verified = false;
            return (Vec::new(), SW_OK);
        }
        let tries = self.counter.tries_left();
        if data.is_empty() {
            return match (self.verified, tries) {
                (true, _) => (Vec::new(), SW_OK),
                (false, 0) => (Vec::new(), SW_BLOCKED),
                (false, n) => (Vec::new(), [0x63, 0xC0 | n]),
            };
        }
        if data.len() != 8 {
            return (Vec::new(), SW_WRONG_LENGTH);
        }
        if tries == 0 {
            return (Vec::new(), SW_BLOCKED);
        }
        // Spend the try before comparing, and persist it first, as a real card does: a
        // card pulled mid-VERIFY must not have given a free guess.
        if self.counter.set(tries - 1).is_err() {
            return (Vec::new(), SW_NO_PRECISE_DIAGNOSIS);
        }
        let mut expected = [0xFFu8; 8];
        let code = self.identity.passcode.as_bytes();
        expected[..code.len()].copy_from_slice(code);
        let matches = expected
            .iter()
            .zip(data)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        expected.fill(0);
        if matches {
            if self.counter.set(PASSCODE_TRIES).is_err() {
                return (Vec::new(), SW_NO_PRECISE_DIAGNOSIS);
            }
            self.verified = true;
            (Vec::new(), SW_OK)
        } else {
            self.verified = false;
            match tries - 1 {
                0 => (Vec::new(), SW_BLOCKED),
                n => (Vec::new(), [0x63, 0xC0 | n]),
            }
        }
    }

    fn general_authenticate(&mut self, apdu: &Apdu<'_>, data: &[u8]) -> (Vec<u8>, [u8; 2]) {
        if apdu.p1 != ALG_ECC_P256 || !matches!(apdu.p2, 0x9A | 0x9D) {
            return (Vec::new(), SW_WRONG_P1P2);
        }
        let template = match tlv::parse_one(data) {
            Ok((t, rest)) if t.tag == 0x7C && rest.is_empty() => t.value,
            _ => return (Vec::new(), SW_WRONG_DATA),
        };
        let Ok(items) = tlv::parse_all(template) else {
            return (Vec::new(), SW_WRONG_DATA);
        };
        let wants_response = items.iter().any(|t| t.tag == 0x82 && t.value.is_empty());
        let challenge = items.iter().find(|t| t.tag == 0x81).map(|t| t.value);
        let peer = items.iter().find(|t| t.tag == 0x85).map(|t| t.value);
        if !wants_response {
            return (Vec::new(), SW_WRONG_DATA);
        }
        if !self.verified {
            return (Vec::new(), SW_SECURITY_NOT_SATISFIED);
        }
        let answer = match (apdu.p2, challenge, peer) {
            (0x9A, Some(digest), None) => {
                // The input is the hash, at most the key size (SP 800-73-4 part 2, 3.2.4).
                if digest.len() < 16 || digest.len() > 32 {
                    return (Vec::new(), SW_WRONG_DATA);
                }
                let key = SigningKey::from(&self.identity.authentication_key);
                let signature: Signature = match key.sign_prehash(digest) {
                    Ok(s) => s,
                    Err(_) => return (Vec::new(), SW_WRONG_DATA),
                };
                signature.to_der().as_bytes().to_vec()
            }
            (0x9D, None, Some(point)) => {
                let Ok(peer) = p256::PublicKey::from_sec1_bytes(point) else {
                    return (Vec::new(), SW_WRONG_DATA);
                };
                let shared = p256::ecdh::diffie_hellman(
                    self.identity.key_management_key.to_nonzero_scalar(),
                    peer.as_affine(),
                );
                shared.raw_secret_bytes().to_vec()
            }
            _ => return (Vec::new(), SW_WRONG_DATA),
        };
        (tlv::encode(&[0x7C], &tlv::encode(&[0x82], &answer)), SW_OK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::SecretKey;
    use zeroize::Zeroizing;

    #[test]
    fn apdu_cases_parse() {
        let case1 = parse_apdu(&[0, 0x20, 0, 0x80]).expect("case 1");
        assert!(case1.data.is_empty());
        let case2 = parse_apdu(&[0, 0xCB, 0x3F, 0xFF, 0]).expect("case 2");
        assert!(case2.data.is_empty());
        let case3 = parse_apdu(&[0, 0xA4, 4, 0, 2, 0xA0, 0]).expect("case 3");
        assert_eq!(case3.data, &[0xA0, 0]);
        let case4 = parse_apdu(&[0, 0xA4, 4, 0, 1, 0xA0, 0]).expect("case 4");
        assert_eq!(case4.data, &[0xA0]);
        assert_eq!(case2.le, Some(256));
        assert_eq!(case4.le, Some(256));
        assert_eq!(case3.le, None);
        let ext = parse_apdu(&[0, 0xCB, 0x3F, 0xFF, 0, 0, 1, 0x5C, 0, 0]).expect("extended");
        assert_eq!(ext.le, Some(65536));
        assert_eq!(ext.data, &[0x5C]);
        assert!(parse_apdu(&[0, 0xA4, 4]).is_none());
        assert!(parse_apdu(&[0, 0xA4, 4, 0, 5, 1]).is_none());
    }

    /// A card with throwaway keys and certificates that are only bytes: enough for the
    /// applet to answer every command it knows.
    fn applet(dir: &Path) -> PivApplet {
        let key = |b: u8| SecretKey::from_slice(&[b; 32]).expect("a valid scalar");
        let identity = CardIdentity {
            authentication_key: key(1),
            authentication_certificate: vec![0x30; 700],
            key_management_key: key(2),
            key_management_certificate: vec![0x30; 300],
            passcode: Zeroizing::new("246810".into()),
            guid: [9; 16],
        };
        let counter = RetryCounter::load(&dir.join("card-state.json")).expect("fresh counter");
        PivApplet::new(identity, counter, Fault::None)
    }

    #[test]
    fn a_six_byte_apdu_with_a_zero_fifth_byte_is_wrong_length() {
        // CLA INS P1 P2 00 xx: 00 starts an extended length, which needs two more bytes.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut card = applet(dir.path());
        assert!(parse_apdu(&[0, 0xCB, 0x3F, 0xFF, 0, 0x5C]).is_none());
        assert_eq!(
            card.process(&[0, 0xCB, 0x3F, 0xFF, 0, 0x5C]),
            SW_WRONG_LENGTH
        );
        assert_eq!(card.process(&[0, 0xCB, 0x3F, 0xFF, 0, 0]), SW_WRONG_LENGTH);
        // An extended Lc of zero is not a length either (ISO 7816-4: Lc is 1 to 65535).
        assert_eq!(
            card.process(&[0, 0x20, 0, 0x80, 0, 0, 0, 0, 0]),
            SW_WRONG_LENGTH
        );
        // The card still answers properly afterwards.
        assert_eq!(card.process(&[0, 0x20, 0, 0x80]), [0x63, 0xC3]);
    }

    #[test]
    fn arbitrary_apdus_never_panic() {
        // proptest is not a dev-dependency here, so a fixed-seed xorshift drives the same
        // idea: tens of thousands of APDUs of 0 to 299 bytes, with headers drawn mostly from the
        // commands the applet knows so that the bodies reach its parsers, fed one after
        // another to one card so chaining and pending GET RESPONSE state are exercised too.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut card = applet(dir.path());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..50_000 {
            // Half the APDUs short, where the length cases are; a quarter of the bytes
            // zero, since 00 is what switches a length to its extended form.
            let len = (next() % if next() % 2 == 0 { 16 } else { 300 }) as usize;
            let mut apdu: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => 0,
                    _ => next() as u8,
                })
                .collect();
            let header = [
                [0x00, 0xCB, 0x3F, 0xFF],
                [0x10, 0xCB, 0x3F, 0xFF],
                [0x00, 0xA4, 0x04, 0x00],
                [0x00, 0x20, 0x00, 0x80],
                [0x00, 0x87, ALG_ECC_P256, 0x9A],
                [0x10, 0x87, ALG_ECC_P256, 0x9D],
                [0x00, 0xC0, 0x00, 0x00],
            ];
            let pick = (next() % 8) as usize;
            if let Some(h) = header.get(pick) {
                let n = apdu.len().min(4);
                apdu[..n].copy_from_slice(&h[..n]);
            }
            let answer = card.process(&apdu);
            assert!(answer.len() >= 2, "no status word for {apdu:02X?}");
        }
    }
}
