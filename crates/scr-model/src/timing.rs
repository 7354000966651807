//! The timing contract between the viewer and the spine, written once: the spine must answer
//! (with data or with a 503 the client may retry) before the client gives up, so a user sees
//! "busy, try again" rather than a bare time-out, and the spine never works on a request its
//! client has abandoned.

use std::time::Duration;

/// How long the client waits for one answer from the spine.
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The spine's deadline for one request, inside which it answers or sends 503. Shorter than
/// [`CLIENT_REQUEST_TIMEOUT`] by enough for the answer to travel.
pub const SPINE_REQUEST_DEADLINE: Duration = Duration::from_secs(8);

/// How long the client keeps an idle connection for reuse. Shorter than the spine's
/// [`SPINE_IDLE_CONNECTION`] so the client never sends on a connection the spine is closing.
pub const CLIENT_POOL_IDLE: Duration = Duration::from_secs(5);

/// How long the spine keeps a connection that sends nothing (between requests, or a request
/// whose headers do not arrive).
pub const SPINE_IDLE_CONNECTION: Duration = Duration::from_secs(10);

/// The longest the viewer may keep an offline copy (hours). The spine refuses reports of
/// views made later than this after the copy was fetched.
pub const MAX_OFFLINE_AGE_HOURS: u32 = 7 * 24;
