//! Serving the API over HTTPS (rustls), with graceful shutdown that lets in-flight requests
//! finish.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use axum_server::Handle;

use crate::audit::AuditWriter;
use crate::config::SpineConfig;
use crate::pki::TrustAnchor;
use crate::store::Store;
use crate::{router, AppState};

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
        self.store.close().await;
        result
    }
}

/// Opens the store and starts serving on `config.listen` (port 0 picks a free port).
pub async fn start(data_dir: &Path, config: SpineConfig) -> anyhow::Result<RunningSpine> {
    install_crypto_provider();
    let url = config.database_url(data_dir);
    let store = Store::open(&url, config.max_db_connections)
        .await
        .with_context(|| format!("opening the store at {}", crate::store::redact_url(&url)))?;
    let ca_path = config.resolve(data_dir, &config.ca_cert);
    let ca_pem = std::fs::read_to_string(&ca_path).with_context(|| {
        format!(
            "reading the CA certificate {} (run `scr-spine init` first)",
            ca_path.display()
        )
    })?;
    let trust = TrustAnchor::from_pem(&ca_pem)?;
    let tls = RustlsConfig::from_pem_file(
        config.resolve(data_dir, &config.tls_cert),
        config.resolve(data_dir, &config.tls_key),
    )
    .await
    .context("loading the TLS certificate and key")?;
    let addr: SocketAddr = config
        .listen
        .parse()
        .with_context(|| format!("listen address {:?}", config.listen))?;
    let audit = AuditWriter::start(store.clone());
    let state = Arc::new(AppState {
        store: store.clone(),
        audit,
        trust,
        config,
    });
    let app = router(state);
    let handle = Handle::new();
    let server_handle = handle.clone();
    let task = tokio::spawn(async move {
        // TCP_NODELAY: a TLS response is written as several records; without it, Nagle's
        // algorithm and the client's delayed ACK add ~40 ms to some answers.
        axum_server::bind(addr)
            .acceptor(RustlsAcceptor::new(tls).acceptor(NoDelayAcceptor::new()))
            .handle(server_handle)
            .serve(app.into_make_service())
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
    })
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
