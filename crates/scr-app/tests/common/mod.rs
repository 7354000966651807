//! What the viewer's card tests share: whether the real parts are there, and waiting for
//! the virtual readers to empty between stories.

use std::time::Duration;

/// True when pcscd has the vpcd reader `reader` and the OS keyring is usable; otherwise the
/// test is skipped, unless `SCR_REQUIRE_PCSC` / `SCR_REQUIRE_KEYRING` demand the parts.
pub fn ready(keyring: &scr_cache::DeviceKeyring, reader: &str) -> bool {
    let pcsc = scr_card::PcscContext::establish()
        .and_then(|c| c.readers())
        .map(|r| r.iter().any(|r| r.name == reader))
        .unwrap_or(false);
    if !pcsc {
        assert!(
            std::env::var_os("SCR_REQUIRE_PCSC").is_none(),
            "SCR_REQUIRE_PCSC is set but pcscd with vpcd is not running"
        );
        eprintln!("skipped: pcscd with vpcd readers not running");
        return false;
    }
    if let Err(e) = keyring.probe() {
        assert!(
            std::env::var("SCR_REQUIRE_KEYRING").as_deref() != Ok("1"),
            "SCR_REQUIRE_KEYRING=1 but the keyring is not usable: {e}"
        );
        eprintln!("skipped: no usable OS keyring ({e})");
        return false;
    }
    true
}

/// Waits (up to 4 s) until no virtual reader holds a card.
pub async fn wait_readers_empty() {
    for _ in 0..40 {
        let busy = scr_card::PcscContext::establish()
            .and_then(|c| c.readers())
            .map(|rs| rs.iter().any(|r| r.card_present))
            .unwrap_or(false);
        if !busy {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
