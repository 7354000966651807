//! Seeds of the smartcard targets: real conversations between the viewer's PIV client
//! (`scr_card::Piv`, the commands sign-in sends) and the virtual card (`scr_vcard::PivApplet`)
//! holding certificates issued by a fresh CA as `scr-spine seed` issues them. Each
//! conversation is written twice: the card's answers for `card_apdu`, the client's commands
//! (as vpcd frames them) for `vcard_applet`; the TLV objects in it go to `card_tlv`.

use std::path::Path;

use chrono::{Duration, Utc};
use p256::pkcs8::DecodePrivateKey;
use scr_card::apdu::{self, Command, Transport};
use scr_card::{tlv, CardError, Passcode, Piv, Slot};
use scr_spine::pki::CertificateAuthority;
use scr_vcard::{CardIdentity, Fault, PivApplet, RetryCounter};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::card::{framed, peer, NONCE, PASSCODE};

/// The client's commands answered by the virtual card, both recorded.
struct Recorder {
    card: PivApplet,
    sent: Vec<Vec<u8>>,
    answers: Vec<Vec<u8>>,
}

impl Transport for Recorder {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let answer = self.card.process(apdu);
        self.sent.push(apdu.to_vec());
        self.answers.push(answer.clone());
        Ok(answer)
    }
}

struct Cards<'a> {
    ca: CertificateAuthority,
    state: &'a Path,
}

impl Cards<'_> {
    /// A freshly issued card with `passcode` and `tries` passcode tries left.
    fn card(&self, passcode: &str, tries: u8) -> Recorder {
        let now = Utc::now();
        let auth = self
            .ca
            .issue_identity(
                "Dr Seed Fuzz",
                now - Duration::days(1),
                now + Duration::days(365),
            )
            .expect("an authentication certificate");
        let km = self
            .ca
            .issue_key_management("Dr Seed Fuzz")
            .expect("a key-management certificate");
        let key = |pem: &str| p256::SecretKey::from_pkcs8_pem(pem).expect("a P-256 key");
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&Sha256::digest(&auth.cert_der)[..16]);
        let identity = CardIdentity {
            authentication_key: key(&auth.key_pem),
            authentication_certificate: auth.cert_der,
            key_management_key: key(&km.key_pem),
            key_management_certificate: km.cert_der,
            passcode: Zeroizing::new(passcode.into()),
            guid,
        };
        let path = self.state.join("card-state.json");
        let _ = std::fs::remove_file(&path);
        let mut counter = RetryCounter::load(&path).expect("a retry counter");
        counter.set(tries).expect("the retry counter written");
        Recorder {
            card: PivApplet::new(identity, counter, Fault::None),
            sent: Vec::new(),
            answers: Vec::new(),
        }
    }
}

fn write(out: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = out.join(target);
    std::fs::create_dir_all(&dir).expect("seed folder");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

/// `card_apdu`'s input: the step, the card's answers (after `first`, the raw steps' command).
fn answers_seed(step: u8, first: Option<&[u8]>, r: &Recorder) -> Vec<u8> {
    let mut out = vec![step];
    out.extend(framed(
        first.into_iter().chain(r.answers.iter().map(Vec::as_slice)),
    ));
    out
}

/// `vcard_applet`'s input: power on, the ATR request, then the commands.
fn commands_seed(r: &Recorder) -> Vec<u8> {
    let controls: [&[u8]; 2] = [&[1], &[4]];
    framed(controls.into_iter().chain(r.sent.iter().map(Vec::as_slice)))
}

/// The same conversation for both targets.
fn both(out: &Path, name: &str, step: u8, first: Option<&[u8]>, r: &Recorder) {
    write(out, "card_apdu", name, &answers_seed(step, first, r));
    write(out, "vcard_applet", name, &commands_seed(r));
}

fn sign_in(r: &mut Recorder) {
    let passcode = Passcode::new(PASSCODE.into()).expect("a valid passcode");
    let mut piv = Piv::new(r);
    let _ = piv.select();
    let _ = piv.read_certificate(Slot::Authentication);
    let _ = piv.read_certificate(Slot::KeyManagement);
    let _ = piv.select();
    let _ = piv.verify(&passcode);
    let _ = piv.sign_digest(&Sha256::digest(NONCE).into());
    let _ = piv.ecdh(&peer());
}

pub fn write_all(out: &Path) {
    let state = out.join(".card");
    std::fs::create_dir_all(&state).expect("a folder for the seed card's state");
    let cards = Cards {
        ca: CertificateAuthority::create("SCR fuzz seed CA").expect("a CA"),
        state: &state,
    };

    // The sign-in, with the right passcode, a wrong one, and on a blocked card.
    for (name, passcode, tries) in [
        ("sign-in", PASSCODE, 3),
        ("sign-in-wrong-passcode", "135790", 3),
        ("sign-in-last-try", "135790", 1),
        ("sign-in-blocked", PASSCODE, 0),
    ] {
        let mut r = cards.card(passcode, tries);
        sign_in(&mut r);
        both(out, name, 0, None, &r);
    }

    let mut r = cards.card(PASSCODE, 3);
    let _ = Piv::new(&mut r).select();
    let _ = Piv::new(&mut r).read_certificate(Slot::Authentication);
    both(out, "read-certificate", 1, None, &r);

    for (name, passcode, tries) in [
        ("passcode", PASSCODE, 3),
        ("passcode-wrong", "135790", 2),
        ("passcode-blocked", PASSCODE, 0),
    ] {
        let mut r = cards.card(passcode, tries);
        let mut piv = Piv::new(&mut r);
        let _ = piv.select();
        let _ = piv.passcode_status();
        let _ = piv.verify(&Passcode::new(PASSCODE.into()).expect("a valid passcode"));
        let _ = piv.passcode_status();
        both(out, name, 2, None, &r);
    }

    // Every object the virtual card has, and one it has not.
    let objects: [(&str, &[u8]); 5] = [
        ("discovery", &[0x7E]),
        ("chuid", &[0x5F, 0xC1, 0x02]),
        ("certificate-9a", &[0x5F, 0xC1, 0x05]),
        ("certificate-9d", &[0x5F, 0xC1, 0x0B]),
        ("no-such-object", &[0x5F, 0xC1, 0x01]),
    ];
    for (name, tag) in objects {
        let mut r = cards.card(PASSCODE, 3);
        let mut piv = Piv::new(&mut r);
        let _ = piv.select();
        let object = piv.get_data(tag);
        both(out, &format!("get-data-{name}"), 3, Some(tag), &r);
        // The objects' TLV for card_tlv, as read (inside 53) and as sent (53 { … }).
        if let Ok(Some(value)) = object {
            write(out, "card_tlv", &format!("{name}-inside"), &value);
            write(out, "card_tlv", name, &tlv::encode(&[0x53], &value));
        }
    }

    // Raw exchanges: a certificate in short chunks (Le 40, then GET RESPONSEs), a command
    // chained in 255-byte parts, and GENERAL AUTHENTICATE after VERIFY.
    let mut r = cards.card(PASSCODE, 3);
    let spec = [0xCB, 0x3F, 0xFF, 0x40, 0x5C, 0x03, 0x5F, 0xC1, 0x05];
    let command = Command::new(0xCB, 0x3F, 0xFF, spec[4..].to_vec(), Some(0x40));
    if let Ok(response) = apdu::exchange(&mut r, &command) {
        write(out, "card_tlv", "certificate-9a-exchanged", &response.data);
    }
    both(out, "exchange-short-le", 4, Some(&spec), &r);

    let mut r = cards.card(PASSCODE, 3);
    let template = tlv::encode(
        &[0x7C],
        &[
            vec![0x82, 0x00],
            tlv::encode(&[0x81], &[0x5A; 32]),
            tlv::encode(&[0x83], &[0; 300]),
        ]
        .concat(),
    );
    let mut spec = vec![0x87, 0x11, 0x9A, 0xFF];
    spec.extend_from_slice(&template);
    let _ = apdu::exchange(
        &mut r,
        &Command::new(0x87, 0x11, 0x9A, template.clone(), Some(256)),
    );
    both(out, "exchange-chained", 4, Some(&spec), &r);
    write(out, "card_tlv", "template-chained", &template);

    let mut r = cards.card(PASSCODE, 3);
    let passcode = Passcode::new(PASSCODE.into()).expect("a valid passcode");
    let _ = Piv::new(&mut r).verify(&passcode);
    r.answers.clear();
    let sent_verify = std::mem::take(&mut r.sent);
    let digest = Sha256::digest(NONCE);
    let template = tlv::encode(
        &[0x7C],
        &[vec![0x82, 0x00], tlv::encode(&[0x81], &digest)].concat(),
    );
    let mut spec = vec![0x87, 0x11, 0x9A, 0xFF];
    spec.extend_from_slice(&template);
    if let Ok(response) = apdu::exchange(
        &mut r,
        &Command::new(0x87, 0x11, 0x9A, template.clone(), Some(256)),
    ) {
        write(out, "card_tlv", "signature", &response.data);
    }
    write(
        out,
        "card_apdu",
        "exchange-sign",
        &answers_seed(4, Some(&spec), &r),
    );
    write(out, "card_tlv", "template-sign", &template);
    r.sent.splice(0..0, sent_verify);
    write(out, "vcard_applet", "verify-then-sign", &commands_seed(&r));

    // Awkward answers the virtual card never gives: a card that keeps saying 61 00, an
    // answer cut before its status word, a refused chained part.
    let stalled: Vec<&[u8]> = std::iter::repeat(&[0x61u8, 0x00][..]).take(300).collect();
    let mut input = vec![4];
    input.extend(framed(std::iter::once(&spec[..4]).chain(stalled)));
    write(out, "card_apdu", "endless-61-00", &input);
    write(out, "card_apdu", "cut-short", &[1, 0, 1, 0x90]);
    let mut input = vec![4];
    input.extend(framed([&spec[..], &[0x6A, 0x80]]));
    write(out, "card_apdu", "chained-part-refused", &input);

    // Commands OpenSC and other PIV middleware send that the viewer does not: the
    // truncated AID, extended lengths, Le-less GET DATA, the security reset, wrong
    // passcodes into blocking, GET RESPONSE with a small Le, and a chained VERIFY.
    let block = b"246810\xFF\xFF";
    let wrong = b"135790\xFF\xFF";
    let verify = |pin: &[u8]| [&[0x00, 0x20, 0x00, 0x80, 0x08][..], pin].concat();
    let sequences: [(&str, Vec<Vec<u8>>); 5] = [
        (
            "opensc",
            vec![
                vec![1],
                vec![4],
                vec![0x00, 0xCB, 0x3F, 0xFF, 0x03, 0x5C, 0x01, 0x7E, 0x00],
                vec![
                    0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                ],
                vec![0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x02],
                vec![0x00, 0x20, 0x00, 0x80],
                verify(block),
                vec![0x00, 0x20, 0xFF, 0x80],
                vec![0x00, 0x20, 0x00, 0x80],
            ],
        ),
        (
            "extended",
            vec![
                vec![
                    0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x00,
                    0x00,
                ],
                vec![0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x00],
            ],
        ),
        (
            "blocking",
            vec![
                verify(wrong),
                verify(wrong),
                verify(wrong),
                verify(block),
                vec![0x00, 0x20, 0x00, 0x80],
            ],
        ),
        (
            "small-le",
            vec![
                vec![
                    0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x0B, 0x10,
                ],
                vec![0x00, 0xC0, 0x00, 0x00, 0x10],
                vec![0x00, 0xC0, 0x00, 0x00, 0x00],
                vec![0x00, 0xC0, 0x00, 0x00, 0x00],
                vec![0x00, 0xC0, 0x00, 0x00, 0x00],
            ],
        ),
        (
            "chained-verify",
            vec![
                vec![0x10, 0x20, 0x00, 0x80, 0x04, b'2', b'4', b'6', b'8'],
                [&[0x00, 0x20, 0x00, 0x80, 0x04][..], &block[4..]].concat(),
                vec![0x00, 0x87, 0x11, 0x9D, 0x04, 0x7C, 0x02, 0x82, 0x00],
            ],
        ),
    ];
    for (name, messages) in sequences {
        write(
            out,
            "vcard_applet",
            name,
            &framed(messages.iter().map(Vec::as_slice)),
        );
    }

    // The TLV shapes of the client's own commands.
    write(
        out,
        "card_tlv",
        "get-data-command",
        &tlv::encode(&[0x5C], &[0x5F, 0xC1, 0x05]),
    );
    write(
        out,
        "card_tlv",
        "long-lengths",
        &tlv::encode(&[0x53], &tlv::encode(&[0x70], &[0x30; 300])),
    );

    let _ = std::fs::remove_dir_all(&state);
}
