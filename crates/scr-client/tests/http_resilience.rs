//! The client against a spine that is busy, hangs or answers 500: a real HTTPS server on
//! loopback (axum + rustls, certificate from the spine's own PKI code) scripted per test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use scr_client::{ClientError, SpineClient, Timeouts};

struct Server {
    base: String,
    ca: Vec<u8>,
    calls: Arc<AtomicU32>,
    handle: axum_server::Handle,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Serves `/auth/challenge` with `answer(call number)`.
async fn serve<F, R>(answer: F) -> Server
where
    F: Fn(u32) -> R + Clone + Send + Sync + 'static,
    R: std::future::Future<Output = axum::response::Response> + Send + 'static,
{
    scr_spine::server::install_crypto_provider();
    let ca = scr_spine::pki::CertificateAuthority::create("Test CA").expect("CA");
    let server = ca.issue_server(&["localhost"]).expect("server cert");
    let tls = RustlsConfig::from_pem(server.cert_pem.into_bytes(), server.key_pem.into_bytes())
        .await
        .expect("TLS config");
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let app = Router::new().route(
        "/auth/challenge",
        post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            answer(n)
        }),
    );
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        axum_server::bind_rustls("127.0.0.1:0".parse().expect("addr"), tls)
            .handle(h)
            .serve(app.into_make_service())
            .await
    });
    let addr = handle.listening().await.expect("listening");
    Server {
        base: format!("https://localhost:{}", addr.port()),
        ca: ca.cert_pem().as_bytes().to_vec(),
        calls,
        handle,
    }
}

fn challenge_ok() -> axum::response::Response {
    axum::Json(serde_json::json!({
        "challenge_id": "c1",
        "nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "expires_at": "2026-11-24T10:00:00Z"
    }))
    .into_response()
}

fn fast() -> Timeouts {
    Timeouts {
        backoff: Duration::from_millis(20),
        ..Timeouts::default()
    }
}

#[tokio::test]
async fn a_busy_spine_is_retried_until_it_answers() {
    let server = serve(|n| async move {
        if n <= 2 {
            (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
        } else {
            challenge_ok()
        }
    })
    .await;
    let client = SpineClient::new(&server.base, &server.ca, fast()).expect("client");
    let challenge = client
        .challenge(b"cert")
        .await
        .expect("third attempt succeeds");
    assert_eq!(challenge.challenge_id, "c1");
    assert_eq!(server.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let server =
        serve(|_| async { (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response() }).await;
    let client = SpineClient::new(&server.base, &server.ca, fast()).expect("client");
    let err = client.challenge(b"cert").await.err().expect("gives up");
    assert!(
        matches!(err, ClientError::Spine { status: 429, .. }),
        "{err:?}"
    );
    assert_eq!(
        server.calls.load(Ordering::SeqCst),
        4,
        "one try and three retries"
    );
}

#[tokio::test]
async fn a_500_is_not_retried_and_reads_as_a_spine_error() {
    let server = serve(|_| async {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "exception",
                           "details": {"coding": [{"code": "INTERNAL_ERROR"}], "text": "Something went wrong."}}]
            })),
        )
            .into_response()
    })
    .await;
    let client = SpineClient::new(&server.base, &server.ca, fast()).expect("client");
    match client.challenge(b"cert").await {
        Err(ClientError::Spine {
            status: 500, code, ..
        }) => assert_eq!(code, "INTERNAL_ERROR"),
        other => panic!("expected a spine error, got {:?}", other.err()),
    }
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_hanging_spine_times_out() {
    let server = serve(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        challenge_ok()
    })
    .await;
    let client = SpineClient::new(
        &server.base,
        &server.ca,
        Timeouts {
            request: Duration::from_millis(500),
            ..fast()
        },
    )
    .expect("client");
    let started = Instant::now();
    assert!(matches!(
        client.challenge(b"cert").await,
        Err(ClientError::Timeout)
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_a_protocol_error() {
    let server =
        serve(|_| async { (StatusCode::OK, "<html>proxy login</html>").into_response() }).await;
    let client = SpineClient::new(&server.base, &server.ca, fast()).expect("client");
    assert!(matches!(
        client.challenge(b"cert").await,
        Err(ClientError::Protocol(_))
    ));
}
