//! Serving the API over HTTPS (rustls), with graceful shutdown that lets in-flight requests
//! finish.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use axum_server::Handle;

use crate::audit::{AuditWriter, WriterSettings};
use crate::checkpoint::CheckpointSigner;
use crate::config::SpineConfig;
use crate::connections::{ConnectionLimits, GuardedAcceptor};
use crate::pki::TrustAnchor;
use crate::routes::router;
use crate::state::AppState;
use crate::store::Store;

/// How long shutdown waits for in-flight requests.
const GRACE: Duration = Duration::from_secs(20);

/// rustls with the `ring` provider: one crypto backend for the whole process.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A spine that is listening.
pub struct RunningSpine {
    pub addr: SocketAddr,
    pub handle: Handle,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub store: Store,
    pub audit: AuditWriter,
    pub connections: Arc<ConnectionLimits>,
    housekeeping: tokio::task::JoinHandle<()>,
}

impl RunningSpine {
    /// Stops accepting new connections; requests in flight get up to `GRACE` to finish.
    pub fn begin_shutdown(&self) {
        self.handle.graceful_shutdown(Some(GRACE));
    }

    /// Stops accepting, waits for in-flight requests, then returns.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.begin_shutdown();
        let result = self.task.await.context("server task")?;
        self.housekeeping.abort();
        // The refusal tally and a last checkpoint reach the trail before the store closes.
        if let Err(e) = self.audit.flush().await {
            tracing::error!(error = %e, "shutdown: the audit tally could not be written");
        }
        self.store.close().await;
        result
    }
}

/// Opens the store and starts serving on `config.listen` (port 0 picks a free port).
pub async fn start(data_dir: &Path, config: SpineConfig) -> anyhow::Result<RunningSpine> {
    install_crypto_provider();
    let store = crate::setup::open_store(data_dir, &config).await?;
    let ca_path = config.resolve(data_dir, &config.ca_cert);
    let ca_pem = std::fs::read_to_string(&ca_path).with_context(|| {
        format!(
            "reading the CA certificate {} (run `scr-spine init` first)",
            ca_path.display()
        )
    })?;
    let trust = TrustAnchor::from_pem(&ca_pem)?;
    let cert_path = config.resolve(data_dir, &config.tls_cert);
    let (tls, host_names) = tls_config(&cert_path, &config.resolve(data_dir, &config.tls_key))?;
    let addr: SocketAddr = config
        .listen
        .parse()
        .with_context(|| format!("listen address {:?}", config.listen))?;
    // Bound before the state is made: with port 0 the port, and so the origins sign-in
    // signatures must name, is known only now.
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("could not listen on {addr}"))?;
    let port = listener
        .local_addr()
        .context("the listening address")?
        .port();
    let origins = if config.origins.is_empty() {
        host_names
            .iter()
            .map(|host| scr_model::signing::https_origin(host, port))
            .collect()
    } else {
        config.origins.clone()
    };
    if origins.is_empty() {
        anyhow::bail!(
            "the TLS certificate {} names no host and `origins` is not set: no sign-in could succeed",
            cert_path.display()
        );
    }
    let signer = CheckpointSigner::open(data_dir).context("the audit checkpoint key")?;
    let audit = AuditWriter::start(
        store.clone(),
        Some(signer),
        WriterSettings {
            checkpoint_every_entries: config.checkpoint_every_entries,
            checkpoint_every: Duration::from_secs(config.checkpoint_every_secs),
            refusal_tally_every: Duration::from_secs(config.refusal_tally_secs),
            disk_reserve: config
                .sqlite_dir(data_dir)
                .map(|dir| crate::audit::DiskReserve {
                    dir,
                    min_free_bytes: config.min_free_disk_mib.saturating_mul(1024 * 1024),
                }),
        },
    );
    let idle = Duration::from_secs(config.idle_connection_secs);
    let connections =
        ConnectionLimits::new(config.max_connections, config.max_connections_per_address);
    let state = Arc::new(AppState::new(
        store.clone(),
        audit.clone(),
        trust,
        config,
        origins,
    ));
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    let app = router(state);
    let handle = Handle::new();
    let server_handle = handle.clone();
    let acceptor = RustlsAcceptor::new(tls)
        .handshake_timeout(idle)
        .acceptor(GuardedAcceptor::new(connections.clone(), idle));
    let mut server = axum_server::from_tcp(listener)
        .acceptor(acceptor)
        .handle(server_handle);
    // Headers must arrive within the idle time: hyper's own time-out needs a timer to run.
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(idle)
        .max_buf_size(64 * 1024);
    server
        .http_builder()
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_concurrent_streams(32)
        .keep_alive_interval(idle)
        .keep_alive_timeout(idle);
    let task = tokio::spawn(async move {
        server
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .context("serving")
    });
    let addr = match handle.listening().await {
        Some(a) => a,
        None => {
            let err = match task.await {
                Ok(Err(e)) => e,
                _ => anyhow::anyhow!("the server stopped before listening"),
            };
            return Err(err.context(format!("could not listen on {addr}")));
        }
    };
    Ok(RunningSpine {
        addr,
        handle,
        task,
        store,
        audit,
        connections,
        housekeeping,
    })
}

/// TLS 1.2/1.3 with the spine's certificate, offering HTTP/1.1 only: every connection then
/// falls under hyper's header-read time-out, and HTTP/2's multiplexing (one connection, many
/// streams) is not there to be abused. The viewer's requests are one at a time anyway.
/// Also returns the names the certificate is for (the spine's origins by default).
fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<(RustlsConfig, Vec<String>)> {
    let cert_pem = std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
    let key_pem = std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("the TLS certificate {}", cert.display()))?;
    let host_names = match certs.first() {
        Some(leaf) => crate::pki::certificate_host_names(leaf)
            .with_context(|| format!("the TLS certificate {}", cert.display()))?,
        None => anyhow::bail!("no certificate in {}", cert.display()),
    };
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .with_context(|| format!("the TLS key {}", key.display()))?
        .with_context(|| format!("no private key in {}", key.display()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("loading the TLS certificate and key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((RustlsConfig::from_config(Arc::new(config)), host_names))
}

/// Every minute: expired challenges and long-dead sessions go, and the rate limiters forget
/// addresses and certificates that are quiet again.
async fn housekeeping(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.store.purge_expired(crate::store::now_ms()).await {
            Ok((challenges, sessions)) if challenges + sessions > 0 => {
                tracing::debug!(challenges, sessions, "purged expired sign-in records")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purging expired sign-in records failed"),
        }
        state.sign_in_limits.forget_idle();
    }
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve_until_signal(data_dir: &Path, config: SpineConfig) -> anyhow::Result<()> {
    let spine = start(data_dir, config).await?;
    println!("scr-spine listening on https://{}", spine.addr);
    tracing::info!(addr = %spine.addr, "listening");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    spine.shutdown().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
