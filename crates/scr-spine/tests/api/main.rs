//! API tests against a real spine: HTTPS on a random loopback port, a fresh store per test,
//! on SQLite and on PostgreSQL (a throwaway cluster that `scripts/test` starts). Clients sign
//! in with the identity keys that `seed` writes — the path a smartcard takes.

mod harness;

mod access;
mod additional;
mod audit_chain;
mod disk_full;
mod faults;
mod flags;
mod hardening;
mod offline_views;
mod pg_cluster;
mod rbac;
mod registration;
mod sessions;
mod shutdown_and_deadlines;
mod sign_in;
mod summary_and_consent;
mod trace;
mod two_spines;
mod upload;

/// Runs each scenario once per backend: `backend_tests!(name)` expands to
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let spine = $crate::harness::TestSpine::start($crate::harness::Backend::Sqlite).await;
                    super::$scenario(&spine).await;
                    spine.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(spine) = $crate::harness::TestSpine::start_postgres().await else { return };
                    super::$scenario(&spine).await;
                    spine.stop().await;
                }
            }
        )*
    };
}
