//! The PIV card application (NIST SP 800-73-4) operations SCR Viewer uses: select, read
//! the authentication (9A) and key-management (9D) certificates, verify the passcode, sign
//! with 9A and do ECDH with 9D, on ECC P-256 keys.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256};
use x509_cert::der::Decode;
use zeroize::Zeroizing;

use crate::apdu::{exchange, Command, Response, Transport};
use crate::error::CardError;
use crate::passcode::Passcode;
use crate::tlv;

/// The PIV application identifier (with version); cards also answer to the truncated
/// `A0 00 00 03 08`.
pub const PIV_AID: [u8; 11] = [
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
];
/// GENERAL AUTHENTICATE algorithm reference for ECC P-256.
pub const ALG_ECC_P256: u8 = 0x11;

const INS_SELECT: u8 = 0xA4;
const INS_GET_DATA: u8 = 0xCB;
const INS_VERIFY: u8 = 0x20;
const INS_GENERAL_AUTHENTICATE: u8 = 0x87;
/// PIN reference for the PIV card application PIN.
const PIN_REFERENCE: u8 = 0x80;

const SW_OK: u16 = 0x9000;
const SW_NOT_FOUND: u16 = 0x6A82;
const SW_SECURITY_NOT_SATISFIED: u16 = 0x6982;
const SW_BLOCKED: u16 = 0x6983;

/// A key slot and the data object holding its certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// 9A, PIV Authentication: signs the sign-in challenge.
    Authentication,
    /// 9D, Key Management: key agreement for the offline cache.
    KeyManagement,
}

impl Slot {
    pub fn key_reference(self) -> u8 {
        match self {
            Slot::Authentication => 0x9A,
            Slot::KeyManagement => 0x9D,
        }
    }

    pub fn object_tag(self) -> [u8; 3] {
        match self {
            Slot::Authentication => [0x5F, 0xC1, 0x05],
            Slot::KeyManagement => [0x5F, 0xC1, 0x0B],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Slot::Authentication => "9A (authentication)",
            Slot::KeyManagement => "9D (key management)",
        }
    }
}

/// Where the passcode stands, without spending a try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasscodeStatus {
    Verified,
    TriesLeft(u8),
    Blocked,
}

/// PIV operations over any transport. Each method sends its commands and checks every byte
/// of the answer before returning it.
pub struct Piv<'t> {
    transport: &'t mut dyn Transport,
}

impl<'t> Piv<'t> {
    pub fn new(transport: &'t mut dyn Transport) -> Piv<'t> {
        Piv { transport }
    }

    fn send(&mut self, command: Command) -> Result<Response, CardError> {
        exchange(self.transport, &command)
    }

    /// Selects the PIV application. A card without it is `NotPivCard`.
    pub fn select(&mut self) -> Result<(), CardError> {
        let r = self.send(Command::new(
            INS_SELECT,
            0x04,
            0x00,
            PIV_AID.to_vec(),
            Some(256),
        ))?;
        match r.sw {
            SW_OK => {
                // The answer, if any, is the application property template (tag 61).
                if !r.data.is_empty() {
                    let (t, _) = tlv::parse_one(&r.data)?;
                    if t.tag != 0x61 {
                        return Err(CardError::malformed(format!(
                            "SELECT answered tag {:X}, not an application property template",
                            t.tag
                        )));
                    }
                }
                Ok(())
            }
            SW_NOT_FOUND | 0x6A81 | 0x6D00 | 0x6E00 => Err(CardError::NotPivCard),
            sw => Err(CardError::Refused(sw)),
        }
    }

    /// Reads a data object by its tag; `None` if the card does not have it.
    pub fn get_data(&mut self, tag: &[u8]) -> Result<Option<Vec<u8>>, CardError> {
        let r = self.send(Command::new(
            INS_GET_DATA,
            0x3F,
            0xFF,
            tlv::encode(&[0x5C], tag),
            Some(256),
        ))?;
        match r.sw {
            SW_OK => {
                let (outer, rest) = tlv::parse_one(&r.data)?;
                if outer.tag != 0x53 || !rest.is_empty() {
                    return Err(CardError::malformed("a data object not wrapped in tag 53"));
                }
                Ok(Some(outer.value.to_vec()))
            }
            SW_NOT_FOUND => Ok(None),
            sw => Err(CardError::Refused(sw)),
        }
    }

    /// The DER certificate in `slot`, checked to be an X.509 certificate.
    pub fn read_certificate(&mut self, slot: Slot) -> Result<Vec<u8>, CardError> {
        let object = self
            .get_data(&slot.object_tag())?
            .ok_or(CardError::NoCertificate(slot.name()))?;
        let der = tlv::find(&object, 0x70)?
            .ok_or_else(|| CardError::malformed("a certificate object without tag 70"))?;
        if let Some(info) = tlv::find(&object, 0x71)? {
            if info.first().is_some_and(|b| b & 0x01 != 0) {
                return Err(CardError::malformed("a compressed certificate"));
            }
        }
        x509_cert::Certificate::from_der(der)
            .map_err(|e| CardError::malformed(format!("the certificate is not valid DER: {e}")))?;
        Ok(der.to_vec())
    }

    /// Asks the passcode state without spending a try (VERIFY with no data).
    pub fn passcode_status(&mut self) -> Result<PasscodeStatus, CardError> {
        let r = self.send(Command::new(INS_VERIFY, 0x00, PIN_REFERENCE, vec![], None))?;
        match r.sw {
            SW_OK => Ok(PasscodeStatus::Verified),
            SW_BLOCKED | 0x63C0 => Ok(PasscodeStatus::Blocked),
            sw if sw & 0xFFF0 == 0x63C0 => Ok(PasscodeStatus::TriesLeft((sw & 0x0F) as u8)),
            sw => Err(CardError::Refused(sw)),
        }
    }

    /// Verifies the passcode on the card. The card counts the tries; we only report them.
    pub fn verify(&mut self, passcode: &Passcode) -> Result<(), CardError> {
        let block = passcode.piv_block();
        let r = self.send(Command::new(
            INS_VERIFY,
            0x00,
            PIN_REFERENCE,
            block.to_vec(),
            None,
        ));
        // The command bytes held the passcode; `Command` is dropped here and its buffer is
        // not zeroized by Vec, so clear what we can reach.
        drop(block);
        let r = r?;
        if !r.data.is_empty() {
            return Err(CardError::malformed("VERIFY answered with data"));
        }
        match r.sw {
            SW_OK => Ok(()),
            SW_BLOCKED | 0x63C0 => Err(CardError::CardBlocked),
            sw if sw & 0xFFF0 == 0x63C0 => Err(CardError::WrongPasscode {
                tries_left: (sw & 0x0F) as u8,
            }),
            sw => Err(CardError::Refused(sw)),
        }
    }

    /// GENERAL AUTHENTICATE with a dynamic authentication template (tag 7C) asking for a
    /// response (82) to `input_tag`; returns the card's response value.
    fn general_authenticate(
        &mut self,
        slot: Slot,
        input_tag: u8,
        input: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        let template = tlv::encode(
            &[0x7C],
            &[vec![0x82, 0x00], tlv::encode(&[input_tag], input)].concat(),
        );
        let r = self.send(Command::new(
            INS_GENERAL_AUTHENTICATE,
            ALG_ECC_P256,
            slot.key_reference(),
            template,
            Some(256),
        ))?;
        match r.sw {
            SW_OK => {}
            SW_SECURITY_NOT_SATISFIED => return Err(CardError::PasscodeRequired),
            SW_NOT_FOUND => return Err(CardError::NoCertificate(slot.name())),
            sw => return Err(CardError::Refused(sw)),
        }
        let (outer, rest) = tlv::parse_one(&r.data)?;
        if outer.tag != 0x7C || !rest.is_empty() {
            return Err(CardError::malformed(
                "GENERAL AUTHENTICATE answer not in tag 7C",
            ));
        }
        let value = tlv::find(outer.value, 0x82)?
            .ok_or_else(|| CardError::malformed("GENERAL AUTHENTICATE answer without tag 82"))?;
        Ok(value.to_vec())
    }

    /// Signs a SHA-256 digest with the 9A key; returns a DER ECDSA signature.
    pub fn sign_digest(&mut self, digest: &[u8; 32]) -> Result<Vec<u8>, CardError> {
        let signature = self.general_authenticate(Slot::Authentication, 0x81, digest)?;
        Signature::from_der(&signature)
            .map_err(|_| CardError::malformed("the signature is not a DER ECDSA signature"))?;
        Ok(signature)
    }

    /// ECDH between the 9D key and `peer`; returns the shared secret (the x coordinate).
    pub fn ecdh(&mut self, peer: &p256::PublicKey) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let point = peer.to_encoded_point(false);
        let secret = Zeroizing::new(self.general_authenticate(
            Slot::KeyManagement,
            0x85,
            point.as_bytes(),
        )?);
        if secret.len() != 32 {
            return Err(CardError::malformed(format!(
                "an ECDH secret of {} bytes, not 32",
                secret.len()
            )));
        }
        Ok(secret)
    }
}

/// The P-256 public key in a DER certificate.
pub fn certificate_public_key(certificate_der: &[u8]) -> Result<VerifyingKey, CardError> {
    let cert = x509_cert::Certificate::from_der(certificate_der)
        .map_err(|e| CardError::malformed(format!("the certificate is not valid DER: {e}")))?;
    let key = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CardError::malformed("the certificate key is not whole bytes"))?;
    VerifyingKey::from_sec1_bytes(key)
        .map_err(|_| CardError::malformed("the certificate key is not an ECC P-256 key"))
}

/// Checks that `signature` (DER) over `message` was made by the key in the certificate.
/// Used after the card signs, so a card that answers a plausible but wrong signature is
/// caught here rather than as a puzzling refusal from the spine.
pub fn signature_matches(certificate_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = certificate_public_key(certificate_der) else {
        return false;
    };
    let Ok(signature) = Signature::from_der(signature) else {
        return false;
    };
    key.verify_prehash(&Sha256::digest(message), &signature)
        .is_ok()
}

/// SHA-256 of the certificate: identifies the card (and its holder) without any name.
pub fn certificate_fingerprint(certificate_der: &[u8]) -> [u8; 32] {
    Sha256::digest(certificate_der).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted card: answers in order and records what it was sent.
    struct Script(Vec<Vec<u8>>, Vec<Vec<u8>>);
    impl Transport for Script {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
            self.1.push(apdu.to_vec());
            if self.0.is_empty() {
                Err(CardError::CardRemoved)
            } else {
                Ok(self.0.remove(0))
            }
        }
    }

    fn with(answers: Vec<Vec<u8>>) -> Script {
        Script(answers, vec![])
    }

    #[test]
    fn select_tells_piv_from_other_cards() {
        let mut card = with(vec![vec![0x61, 0x03, 0x4F, 0x01, 0x00, 0x90, 0x00]]);
        assert_eq!(Piv::new(&mut card).select(), Ok(()));
        assert_eq!(card.1[0][..5], [0x00, 0xA4, 0x04, 0x00, 0x0B]);
        let mut other = with(vec![vec![0x6A, 0x82]]);
        assert_eq!(Piv::new(&mut other).select(), Err(CardError::NotPivCard));
        let mut junk = with(vec![vec![0xDE, 0xAD, 0x90, 0x00]]);
        assert!(matches!(
            Piv::new(&mut junk).select(),
            Err(CardError::Malformed(_))
        ));
    }

    #[test]
    fn verify_reports_tries_and_blocking() {
        let p = Passcode::new("246810".into()).expect("valid");
        let mut card = with(vec![
            vec![0x63, 0xC2],
            vec![0x63, 0xC0],
            vec![0x69, 0x83],
            vec![0x90, 0x00],
        ]);
        let mut piv = Piv::new(&mut card);
        assert_eq!(
            piv.verify(&p),
            Err(CardError::WrongPasscode { tries_left: 2 })
        );
        assert_eq!(piv.verify(&p), Err(CardError::CardBlocked));
        assert_eq!(piv.verify(&p), Err(CardError::CardBlocked));
        assert_eq!(piv.verify(&p), Ok(()));
        assert_eq!(card.1[0], b"\x00\x20\x00\x80\x08246810\xFF\xFF".to_vec());
    }

    #[test]
    fn passcode_status_spends_no_try() {
        let mut card = with(vec![vec![0x63, 0xC3], vec![0x90, 0x00], vec![0x69, 0x83]]);
        let mut piv = Piv::new(&mut card);
        assert_eq!(piv.passcode_status(), Ok(PasscodeStatus::TriesLeft(3)));
        assert_eq!(piv.passcode_status(), Ok(PasscodeStatus::Verified));
        assert_eq!(piv.passcode_status(), Ok(PasscodeStatus::Blocked));
        assert_eq!(card.1[0], vec![0x00, 0x20, 0x00, 0x80]);
    }

    #[test]
    fn certificate_objects_are_checked() {
        // Tag 53 holding tag 70 with bytes that are not a certificate.
        let mut card = with(vec![vec![0x53, 0x04, 0x70, 0x02, 0x30, 0x00, 0x90, 0x00]]);
        assert!(matches!(
            Piv::new(&mut card).read_certificate(Slot::Authentication),
            Err(CardError::Malformed(_))
        ));
        let mut empty = with(vec![vec![0x6A, 0x82]]);
        assert_eq!(
            Piv::new(&mut empty).read_certificate(Slot::KeyManagement),
            Err(CardError::NoCertificate("9D (key management)"))
        );
        let mut wrong_wrapper = with(vec![vec![0x54, 0x00, 0x90, 0x00]]);
        assert!(matches!(
            Piv::new(&mut wrong_wrapper).read_certificate(Slot::Authentication),
            Err(CardError::Malformed(_))
        ));
    }

    proptest::proptest! {
        /// Whatever a card answers, every operation returns: a value or a CardError, never
        /// a panic. Answers are biased to end in 9000 or 61xx so the parsers behind the
        /// status checks (TLV, DER, the continuation loop) see the bytes.
        #[test]
        fn any_card_answers_give_results_not_panics(
            answers in proptest::collection::vec(
                (
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                    proptest::prelude::any::<u8>(),
                    proptest::prelude::any::<u8>(),
                ),
                0..8,
            )
        ) {
            let answers: Vec<Vec<u8>> = answers
                .into_iter()
                .map(|(mut bytes, pick, xx)| {
                    match pick % 4 {
                        0 => bytes.extend_from_slice(&[0x90, 0x00]),
                        1 => bytes.extend_from_slice(&[0x61, xx]),
                        _ => {}
                    }
                    bytes
                })
                .collect();
            let passcode = Passcode::new("246810".into()).expect("valid");
            let peer = p256::SecretKey::from_slice(&[3; 32]).expect("scalar").public_key();
            let mut card = with(answers);
            let mut piv = Piv::new(&mut card);
            let _ = piv.select();
            let _ = piv.read_certificate(Slot::Authentication);
            let _ = piv.get_data(&[0x7E]);
            let _ = piv.passcode_status();
            let _ = piv.verify(&passcode);
            let _ = piv.sign_digest(&[7; 32]);
            let _ = piv.ecdh(&peer);
        }
    }

    #[test]
    fn signing_needs_the_passcode_and_a_real_signature() {
        let digest = [7u8; 32];
        let mut locked = with(vec![vec![0x69, 0x82]]);
        assert_eq!(
            Piv::new(&mut locked).sign_digest(&digest),
            Err(CardError::PasscodeRequired)
        );
        let mut junk = with(vec![vec![0x7C, 0x04, 0x82, 0x02, 0x01, 0x02, 0x90, 0x00]]);
        assert!(matches!(
            Piv::new(&mut junk).sign_digest(&digest),
            Err(CardError::Malformed(_))
        ));
        let mut sent = with(vec![vec![0x6A, 0x80]]);
        let _ = Piv::new(&mut sent).sign_digest(&digest);
        assert_eq!(
            sent.1[0][..11],
            [0x00, 0x87, 0x11, 0x9A, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20]
        );
    }
}
