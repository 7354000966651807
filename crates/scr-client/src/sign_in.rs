//! Sign-in with a smartcard: read the card's certificate, ask the spine for a challenge,
//! verify the passcode on the card, let the card sign the challenge (labelled for sign-in
//! and naming the spine's origin: `scr_model::signing`), open the session.

use std::time::Duration;

use scr_card::{CardError, Passcode, PcscContext, Slot};
use scr_model::RoleProfile;
use sha2::{Digest, Sha256};

use crate::error::ClientError;
use crate::spine::{SessionToken, SpineClient, User};
use zeroize::Zeroizing;

/// How long one card step (a few APDUs) may take before the card is called unresponsive.
pub const CARD_STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A successful sign-in: the token and what the user may choose next.
#[derive(Debug)]
pub struct SignedIn {
    pub token: SessionToken,
    pub user: User,
    pub role_profiles: Vec<RoleProfile>,
    pub expires_at: String,
    pub idle_timeout_secs: u64,
    /// The reader holding the card the session is bound to.
    pub reader: String,
    /// SHA-256 of the card's authentication certificate.
    pub card_fingerprint: [u8; 32],
    pub certificates: CardCertificates,
    /// The card's ECDH answer, when the caller asked for one (offline cache key).
    pub key_agreement: Option<KeyAgreement>,
    /// The card's signature (DER) over the message the caller asked it to sign, if any.
    pub extra_signature: Option<Vec<u8>>,
}

/// Extra work the caller asks of the card in the sign-in step, while the passcode is
/// verified: an ECDH with a public key, and/or a signature over a message (SHA-256) that
/// begins with its purpose label from `scr_model::signing`.
#[derive(Clone, Debug, Default)]
pub struct CardAsk {
    pub agree_with: Option<p256::PublicKey>,
    pub also_sign: Option<Vec<u8>>,
}

/// The certificates a card showed at sign-in.
#[derive(Clone, Debug)]
pub struct CardCertificates {
    /// Slot 9A, the one sign-in is checked against.
    pub authentication: Vec<u8>,
    /// Slot 9D, if the card has one (its key does key agreement).
    pub key_management: Option<Vec<u8>>,
}

/// A secret the card computed by ECDH with its key-management key. Wiped on drop, never
/// printed.
pub struct KeyAgreement(Zeroizing<Vec<u8>>);

impl KeyAgreement {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for KeyAgreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyAgreement(<hidden>)")
    }
}

/// Runs a blocking card step on the blocking pool, giving up after `limit`. A card that
/// never answers leaves its thread waiting on pcscd, not the caller.
pub(crate) async fn card_step<R: Send + 'static>(
    limit: Duration,
    step: impl FnOnce() -> Result<R, CardError> + Send + 'static,
) -> Result<R, ClientError> {
    match tokio::time::timeout(limit, tokio::task::spawn_blocking(step)).await {
        Ok(Ok(result)) => result.map_err(ClientError::Card),
        Ok(Err(_)) => Err(ClientError::Card(CardError::Communication(
            "the card operation failed unexpectedly".into(),
        ))),
        Err(_) => Err(ClientError::Card(CardError::Timeout)),
    }
}

/// Signs in with the card in `reader` (or the first reader holding a card).
pub async fn sign_in(
    spine: &SpineClient,
    reader: Option<&str>,
    passcode: Passcode,
    card_timeout: Duration,
) -> Result<SignedIn, ClientError> {
    sign_in_agreeing(spine, reader, passcode, card_timeout, |_| {
        CardAsk::default()
    })
    .await
}

/// As [`sign_in`]; and whatever `ask` wants of the card, given its certificates (an ECDH for
/// the offline cache's card half, a signature binding a new cache header to the card), is
/// done in the same card step while the passcode is verified.
pub async fn sign_in_agreeing(
    spine: &SpineClient,
    reader: Option<&str>,
    passcode: Passcode,
    card_timeout: Duration,
    ask: impl FnOnce(&CardCertificates) -> CardAsk,
) -> Result<SignedIn, ClientError> {
    let reader = reader.map(str::to_string);
    let (reader, connection, certificates) = card_step(card_timeout, move || {
        let ctx = PcscContext::establish()?;
        let reader = match reader {
            Some(r) => r,
            None => ctx.first_reader_with_card()?,
        };
        let mut connection = ctx.connect(&reader)?;
        let certificates = connection.with_piv(|piv| {
            let authentication = piv.read_certificate(Slot::Authentication)?;
            // A card without a 9D certificate still signs in; it just cannot key a cache.
            let key_management = match piv.read_certificate(Slot::KeyManagement) {
                Ok(c) => Some(c),
                // A 9D object that never finishes arriving is as unusable as a malformed
                // one: sign in without a cache rather than refuse the card.
                Err(CardError::NoCertificate(_))
                | Err(CardError::Malformed(_))
                | Err(CardError::EndlessResponse) => None,
                Err(e) => return Err(e),
            };
            Ok(CardCertificates {
                authentication,
                key_management,
            })
        })?;
        Ok((reader, connection, certificates))
    })
    .await?;
    let certificate = certificates.authentication.clone();
    let asked = ask(&certificates);
    // The card signs any digest it is given: whatever else it signs here must carry its own
    // purpose label (never the sign-in one), or it could pass for another signature.
    if let Some(message) = &asked.also_sign {
        let labelled = scr_model::signing::ALL_LABELS
            .iter()
            .any(|label| *label != scr_model::signing::SIGN_IN_LABEL && message.starts_with(label));
        if !labelled {
            return Err(ClientError::Config(
                "the card was asked to sign a message without a purpose label".into(),
            ));
        }
    }

    let challenge = spine.challenge(&certificate).await?;

    let message = challenge.message(spine.origin());
    let digest: [u8; 32] = Sha256::digest(&message).into();
    let (signature, key_agreement, extra_signature) = card_step(card_timeout, move || {
        let mut connection = connection;
        let answers = connection.with_piv(|piv| {
            piv.verify(&passcode)?;
            let signature = piv.sign_digest(&digest)?;
            let agreed = match &asked.agree_with {
                Some(peer) => Some(piv.ecdh(peer)?),
                None => None,
            };
            let extra = match &asked.also_sign {
                Some(message) => Some(piv.sign_digest(&Sha256::digest(message).into())?),
                None => None,
            };
            Ok((signature, agreed, extra))
        });
        drop(passcode);
        // Reset the card: the verified passcode must not outlive this sign-in.
        connection.close();
        answers
    })
    .await?;
    if !scr_card::signature_matches(&certificate, &message, &signature) {
        return Err(ClientError::Card(CardError::Malformed(
            "the card's signature does not match its certificate".into(),
        )));
    }

    let session = spine
        .create_session(&challenge.challenge_id, &signature)
        .await?;
    Ok(SignedIn {
        token: session.token,
        user: session.user,
        role_profiles: session.role_profiles,
        expires_at: session.expires_at,
        idle_timeout_secs: session.idle_timeout_secs,
        reader,
        card_fingerprint: scr_card::certificate_fingerprint(&certificate),
        certificates,
        key_agreement: key_agreement.map(KeyAgreement),
        extra_signature,
    })
}

/// What offline sign-in checks a card against: the authentication certificate recorded
/// at the user's last online sign-in, and the public key the card must do ECDH with.
pub struct OfflineTarget {
    pub recorded_certificate: Vec<u8>,
    pub peer: p256::PublicKey,
}

/// Offline sign-in's card work, in one card step: the passcode, a signature over a fresh
/// local nonce checked against the recorded certificate (proof that this is the card that
/// signed in online), and the ECDH answer. The card is reset afterwards.
pub async fn prove_and_agree(
    reader: &str,
    passcode: Passcode,
    target: OfflineTarget,
    card_timeout: Duration,
) -> Result<KeyAgreement, ClientError> {
    let reader = reader.to_string();
    let mut nonce = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let recorded = target.recorded_certificate.clone();
    // Labelled as an offline proof: this signature is good for nothing else.
    let message = scr_model::signing::offline_proof_message(&nonce);
    let digest: [u8; 32] = Sha256::digest(&message).into();
    let (signature, agreed) = card_step(card_timeout, move || {
        let ctx = PcscContext::establish()?;
        let mut connection = ctx.connect(&reader)?;
        let answers = connection.with_piv(|piv| {
            piv.verify(&passcode)?;
            let signature = piv.sign_digest(&digest)?;
            let agreed = piv.ecdh(&target.peer)?;
            Ok((signature, agreed))
        });
        drop(passcode);
        connection.close();
        answers
    })
    .await?;
    if !scr_card::signature_matches(&recorded, &message, &signature) {
        return Err(ClientError::OfflineCardMismatch);
    }
    Ok(KeyAgreement(agreed))
}

/// Reads the authentication certificate of the card in `reader` (no passcode needed).
pub async fn read_authentication_certificate(
    reader: &str,
    card_timeout: Duration,
) -> Result<Vec<u8>, ClientError> {
    let reader = reader.to_string();
    card_step(card_timeout, move || {
        let ctx = PcscContext::establish()?;
        let mut connection = ctx.connect(&reader)?;
        let certificate = connection.with_piv(|piv| piv.read_certificate(Slot::Authentication));
        connection.close_leaving();
        certificate
    })
    .await
}
