//! A "spine" of the attacker's own, which the viewer was pointed at (its settings file or
//! `SCR_SPINE_URL`), trying to get the card's signature for something else: relaying the
//! real spine's challenge to sign in there as the user, or sending a challenge shaped like
//! an offline cache header for the card to vouch for. Neither yields anything usable: the
//! card signs a message labelled for sign-in that names the origin the viewer talked to
//! (`scr_model::signing`), and the viewer takes nothing but a 32-byte nonce.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use scr_client::{sign_in, ClientError, SpineClient, Timeouts};
use serde_json::Value;

use crate::harness::*;

/// What the rogue saw pass through it.
#[derive(Default)]
struct Seen {
    challenge: Option<Value>,
    signature: Option<Vec<u8>>,
    spine_said: Option<(u16, Value)>,
}

#[derive(Clone)]
struct Rogue {
    /// Where the real spine is, and a client that trusts it.
    real: String,
    http: reqwest::Client,
    /// `None`: relay the real spine's challenge. `Some`: answer with this nonce instead.
    shaped_nonce: Option<Vec<u8>>,
    seen: Arc<Mutex<Seen>>,
}

struct RogueServer {
    base: String,
    ca: Vec<u8>,
    seen: Arc<Mutex<Seen>>,
    handle: axum_server::Handle,
}

impl Drop for RogueServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn relay_challenge(State(rogue): State<Rogue>, body: Bytes) -> Response {
    if let Some(nonce) = &rogue.shaped_nonce {
        return axum::Json(serde_json::json!({
            "challenge_id": "shaped",
            "nonce": STANDARD.encode(nonce),
            "expires_at": "2026-12-02T23:00:00Z",
        }))
        .into_response();
    }
    let answer: Value = rogue
        .http
        .post(format!("{}/auth/challenge", rogue.real))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the real spine answers")
        .json()
        .await
        .expect("a challenge");
    rogue.seen.lock().expect("seen").challenge = Some(answer.clone());
    axum::Json(answer).into_response()
}

async fn relay_session(State(rogue): State<Rogue>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).expect("a session request");
    let signature = STANDARD
        .decode(request["signature"].as_str().expect("signature"))
        .expect("base64");
    rogue.seen.lock().expect("seen").signature = Some(signature);
    let reply = rogue
        .http
        .post(format!("{}/auth/session", rogue.real))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the real spine answers");
    let status = reply.status().as_u16();
    let value: Value = reply.json().await.unwrap_or(Value::Null);
    rogue.seen.lock().expect("seen").spine_said = Some((status, value.clone()));
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        axum::Json(value),
    )
        .into_response()
}

/// The attacker's spine on its own port, with its own CA (which the viewer was told to
/// trust along with its address).
async fn rogue_spine(rig: &Rig, shaped_nonce: Option<Vec<u8>>) -> RogueServer {
    scr_spine::server::install_crypto_provider();
    let ca = scr_spine::pki::CertificateAuthority::create("Rogue CA").expect("CA");
    let server = ca.issue_server(&["localhost"]).expect("server cert");
    let tls = RustlsConfig::from_pem(server.cert_pem.into_bytes(), server.key_pem.into_bytes())
        .await
        .expect("TLS config");
    let http = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&rig.ca).expect("CA"))
        .build()
        .expect("client");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let rogue = Rogue {
        real: rig.base.clone(),
        http,
        shaped_nonce,
        seen: seen.clone(),
    };
    let app = Router::new()
        .route("/auth/challenge", post(relay_challenge))
        .route("/auth/session", post(relay_session))
        .with_state(rogue);
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        axum_server::bind_rustls("127.0.0.1:0".parse().expect("addr"), tls)
            .handle(h)
            .serve(app.into_make_service())
            .await
    });
    let addr = handle.listening().await.expect("listening");
    RogueServer {
        base: format!("https://localhost:{}", addr.port()),
        ca: ca.cert_pem().as_bytes().to_vec(),
        seen,
        handle,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_relayed_through_another_spine_is_refused_by_the_real_one() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    let rogue = rogue_spine(&rig, None).await;
    let _card = rig.insert("doctor", 0);
    let w = rig.session();
    let reader = w.card_in(0).await;
    let through_rogue =
        SpineClient::new(&rogue.base, &rogue.ca, Timeouts::default()).expect("client");

    let outcome = sign_in(
        &through_rogue,
        Some(&reader),
        passcode(DOCTOR_PASSCODE),
        Duration::from_secs(5),
    )
    .await;
    match outcome {
        Err(ClientError::Spine {
            status: 401, code, ..
        }) => {
            assert_eq!(code, "SIGNATURE_INVALID")
        }
        other => panic!("the relayed sign-in must be refused, got {:?}", other.err()),
    }
    let seen = rogue.seen.lock().expect("seen");
    let (status, body) = seen.spine_said.clone().expect("relayed to the real spine");
    assert_eq!(status, 401, "the real spine refused: {body}");

    // The signature the rogue holds is over the sign-in message naming the rogue's origin:
    // not over the bare nonce, nor the message the real spine wants.
    let challenge = seen.challenge.clone().expect("challenge relayed");
    let signature = seen.signature.clone().expect("signature seen");
    let nonce: [u8; 32] = STANDARD
        .decode(challenge["nonce"].as_str().expect("nonce"))
        .expect("base64")
        .try_into()
        .expect("32 bytes");
    let id = challenge["challenge_id"].as_str().expect("id");
    let certificate = std::fs::read(rig.identity("doctor").join("cert.pem")).expect("cert");
    let certificate =
        scr_spine::pki::pem_to_der(&String::from_utf8_lossy(&certificate)).expect("PEM");
    let for_rogue = scr_model::signing::sign_in_message(through_rogue.origin(), id, &nonce);
    let for_spine = scr_model::signing::sign_in_message(rig.client().origin(), id, &nonce);
    assert!(scr_card::signature_matches(
        &certificate,
        &for_rogue,
        &signature
    ));
    assert!(!scr_card::signature_matches(
        &certificate,
        &for_spine,
        &signature
    ));
    assert!(!scr_card::signature_matches(
        &certificate,
        &nonce,
        &signature
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_shaped_like_a_cache_header_is_refused_before_the_card_signs() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    // What the card signs to vouch for a cache header: the label, a public key, a check
    // value. A spine that could send this as its nonce would get a header signature.
    let mut shaped = scr_model::signing::CACHE_HEADER_LABEL.to_vec();
    shaped.extend_from_slice(&[4u8; 65]);
    shaped.extend_from_slice(&[9u8; 32]);
    let rogue = rogue_spine(&rig, Some(shaped)).await;
    let _card = rig.insert("doctor", 0);
    let w = rig.session();
    let reader = w.card_in(0).await;
    let through_rogue =
        SpineClient::new(&rogue.base, &rogue.ca, Timeouts::default()).expect("client");
    match sign_in(
        &through_rogue,
        Some(&reader),
        passcode(DOCTOR_PASSCODE),
        Duration::from_secs(5),
    )
    .await
    {
        Err(ClientError::Protocol(message)) => assert!(message.contains("32 bytes"), "{message}"),
        other => panic!("a shaped nonce must be refused, got {:?}", other.err()),
    }
    assert!(
        rogue.seen.lock().expect("seen").signature.is_none(),
        "the card signed nothing for the rogue"
    );
}
