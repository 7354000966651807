//! What every request handler shares, and the limits they share it under.

use crate::audit::AuditWriter;
use crate::config::SpineConfig;
use crate::limits::SignInLimits;
use crate::pki::TrustAnchor;
use crate::store::Store;

/// The largest body of a sign-in or role call (a certificate, a signature, an id).
pub const SIGN_IN_BODY_BYTES: usize = 16 * 1024;
/// The largest report of offline views (`fhir::MAX_OFFLINE_VIEWS` AuditEvents of ~1 KB).
pub const OFFLINE_VIEWS_BODY_BYTES: usize = 1536 * 1024;

/// What every request handler shares.
pub struct AppState {
    pub store: Store,
    pub audit: AuditWriter,
    pub trust: TrustAnchor,
    pub config: SpineConfig,
    pub sign_in_limits: SignInLimits,
    /// The origins a sign-in signature may name (`SpineConfig::origins`, or the TLS
    /// certificate's names at the listening port).
    pub origins: Vec<String>,
}

impl AppState {
    pub fn new(
        store: Store,
        audit: AuditWriter,
        trust: TrustAnchor,
        config: SpineConfig,
        origins: Vec<String>,
    ) -> Self {
        let sign_in_limits = SignInLimits::new(
            config.sign_in_per_address_per_minute,
            config.sign_in_per_certificate_per_minute,
        );
        AppState {
            store,
            audit,
            trust,
            config,
            sign_in_limits,
            origins,
        }
    }
}
