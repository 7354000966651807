//! Rate limits on sign-in, per address and per certificate (GCRA, `governor`).
//!
//! Sign-in is the one place anyone may call without a session, and each challenge costs a
//! signature check and a row. An address gets a generous allowance (a hospital's staff may
//! share one NAT address); a certificate gets a few a minute (a card signs in rarely, and a
//! copied public certificate must not be usable to fill the challenge table).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

pub struct SignInLimits {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_certificate: DefaultKeyedRateLimiter<[u8; 32]>,
    clock: DefaultClock,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl SignInLimits {
    pub fn new(per_address_per_minute: u32, per_certificate_per_minute: u32) -> SignInLimits {
        SignInLimits {
            per_address: RateLimiter::keyed(per_minute(per_address_per_minute)),
            per_certificate: RateLimiter::keyed(per_minute(per_certificate_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(seconds)` to wait when the address is over its allowance.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), u32> {
        self.per_address
            .check_key(&ip)
            .map_err(|not_until| retry_secs(not_until.wait_time_from(self.clock.now())))
    }

    /// `Err(seconds)` to wait when this certificate (by its DER bytes) is over its allowance.
    pub fn check_certificate(&self, der: &[u8]) -> Result<(), u32> {
        let key: [u8; 32] = Sha256::digest(der).into();
        self.per_certificate
            .check_key(&key)
            .map_err(|not_until| retry_secs(not_until.wait_time_from(self.clock.now())))
    }

    /// Forgets keys whose allowance is full again, so the maps do not grow with every
    /// address and certificate ever seen.
    pub fn forget_idle(&self) {
        self.per_address.retain_recent();
        self.per_certificate.retain_recent();
        self.per_address.shrink_to_fit();
        self.per_certificate.shrink_to_fit();
    }
}

fn retry_secs(wait: std::time::Duration) -> u32 {
    u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_over_its_allowance_waits_and_others_do_not() {
        let limits = SignInLimits::new(1000, 3);
        for _ in 0..3 {
            assert!(limits.check_certificate(b"card A").is_ok());
        }
        let wait = limits
            .check_certificate(b"card A")
            .expect_err("fourth in a minute");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limits.check_certificate(b"card B").is_ok());
    }

    #[test]
    fn addresses_are_limited_separately() {
        let limits = SignInLimits::new(2, 100);
        let a: IpAddr = "127.0.0.2".parse().expect("ip");
        let b: IpAddr = "127.0.0.1".parse().expect("ip");
        assert!(limits.check_address(a).is_ok());
        assert!(limits.check_address(a).is_ok());
        assert!(limits.check_address(a).is_err());
        assert!(limits.check_address(b).is_ok());
        limits.forget_idle();
    }
}
