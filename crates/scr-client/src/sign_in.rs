//! Sign-in with a smartcard: read the card's certificate, ask the spine for a challenge,
//! verify the passcode on the card, let the card sign the nonce, open the session.

use std::time::Duration;

use scr_card::{CardError, Passcode, PcscContext, Slot};
use scr_model::RoleProfile;
use sha2::{Digest, Sha256};

use crate::error::ClientError;
use crate::spine::{SessionToken, SpineClient, User};

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
}

/// Runs a blocking card step on the blocking pool, giving up after `limit`. A card that
/// never answers leaves its thread waiting on pcscd, not the caller.
async fn card_step<R: Send + 'static>(
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
    let reader = reader.map(str::to_string);
    let (reader, connection, certificate) = card_step(card_timeout, move || {
        let ctx = PcscContext::establish()?;
        let reader = match reader {
            Some(r) => r,
            None => ctx.first_reader_with_card()?,
        };
        let mut connection = ctx.connect(&reader)?;
        let certificate = connection.with_piv(|piv| piv.read_certificate(Slot::Authentication))?;
        Ok((reader, connection, certificate))
    })
    .await?;

    let challenge = spine.challenge(&certificate).await?;

    let nonce = challenge.nonce.clone();
    let signature = card_step(card_timeout, move || {
        let mut connection = connection;
        let digest: [u8; 32] = Sha256::digest(&nonce).into();
        let signature = connection.with_piv(|piv| {
            piv.verify(&passcode)?;
            piv.sign_digest(&digest)
        });
        drop(passcode);
        // Reset the card: the verified passcode must not outlive this sign-in.
        connection.close();
        signature
    })
    .await?;
    if !scr_card::signature_matches(&certificate, &challenge.nonce, &signature) {
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
    })
}
