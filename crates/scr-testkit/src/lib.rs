//! What the tests that drive the real parts share (the app's card tests, the client's card
//! tests, the end-to-end suite): whether pcscd with vpcd's virtual readers and a usable OS
//! keyring are there, and waiting for the readers to empty between stories.
//!
//! A test without the parts is skipped, unless `SCR_REQUIRE_PCSC` / `SCR_REQUIRE_KEYRING=1`
//! (scripts/test sets both) say the run must have them; then their absence fails it.
//!
//! Apart from `scr-demo` (the seeded data) because it links libpcsclite and libdbus, which
//! the seeding CLI, the load tool and the fuzz targets have no use for.

use std::time::Duration;

use scr_cache::DeviceKeyring;

/// How often, and how many times, a wait looks at the readers again (4 s in all).
const POLL: Duration = Duration::from_millis(100);
const POLLS: u32 = 40;

/// Whether pcscd answers and lists the reader `name` (vpcd's are `Virtual PCD 00 0N`).
pub fn reader_present(name: &str) -> bool {
    scr_card::PcscContext::establish()
        .and_then(|c| c.readers())
        .map(|r| r.iter().any(|r| r.name == name))
        .unwrap_or(false)
}

/// True when pcscd has the reader `reader`; otherwise the test is skipped, unless
/// `SCR_REQUIRE_PCSC` demands it.
pub fn pcsc_ready(reader: &str) -> bool {
    if reader_present(reader) {
        return true;
    }
    assert!(
        std::env::var_os("SCR_REQUIRE_PCSC").is_none(),
        "SCR_REQUIRE_PCSC is set but pcscd with vpcd is not running (scripts/test starts it)"
    );
    eprintln!("skipped: pcscd with vpcd readers not running (scripts/test runs it)");
    false
}

/// True when the OS keyring is usable; otherwise the test is skipped, unless
/// `SCR_REQUIRE_KEYRING=1` demands it.
pub fn keyring_ready(keyring: &DeviceKeyring) -> bool {
    match keyring.probe() {
        Ok(()) => true,
        Err(e) => {
            assert!(
                std::env::var("SCR_REQUIRE_KEYRING").as_deref() != Ok("1"),
                "SCR_REQUIRE_KEYRING=1 but the keyring is not usable: {e}"
            );
            eprintln!("skipped: no usable OS keyring ({e})");
            false
        }
    }
}

/// Both real parts the viewer's card tests need: the reader `reader` and the OS keyring.
pub fn ready(keyring: &DeviceKeyring, reader: &str) -> bool {
    pcsc_ready(reader) && keyring_ready(keyring)
}

/// Waits (up to 4 s) until no reader for which `watched` holds holds a card; false if one
/// still does. A card left in a reader by an earlier, failed story would confuse the next.
async fn wait_empty(watched: impl Fn(&str) -> bool) -> bool {
    for _ in 0..POLLS {
        let busy = scr_card::PcscContext::establish()
            .and_then(|c| c.readers())
            .map(|rs| rs.iter().any(|r| watched(&r.name) && r.card_present))
            .unwrap_or(false);
        if !busy {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    false
}

/// Waits (up to 4 s) until no virtual reader holds a card; goes on regardless after that.
pub async fn wait_readers_empty() {
    wait_empty(|_| true).await;
}

/// Waits (up to 4 s) until the reader `name` holds no card; false if it still does.
pub async fn wait_reader_empty(name: &str) -> bool {
    wait_empty(|n| n == name).await
}
