//! A PostgreSQL cluster of one test's own, for faults that would disturb the shared test
//! cluster: restarting the server, filling its disk. Durable settings (fsync and synchronous
//! commit on), because these tests count entries acknowledged before a crash.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct PrivateCluster {
    root: PathBuf,
    port: u16,
    pub url: String,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Runs a server binary as the unprivileged `postgres` user when we are root (initdb and
/// postgres refuse to run as root).
fn as_owner(program: &str, args: &[&str]) -> Output {
    let bin = Path::new(PG_BIN).join(program);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    cmd.args(args)
        .output()
        .expect("run a PostgreSQL server binary")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl PrivateCluster {
    /// Makes and starts a cluster under `parent` (which the `postgres` user must be able to
    /// reach), with `initdb_args` (e.g. a small WAL segment). `None` where the server
    /// binaries are missing and PostgreSQL is not required.
    pub fn start_in(parent: &Path, initdb_args: &[&str]) -> Option<PrivateCluster> {
        if !Path::new(PG_BIN).join("initdb").exists() {
            assert!(
                std::env::var("SCR_REQUIRE_POSTGRES").is_err(),
                "SCR_REQUIRE_POSTGRES is set but {PG_BIN}/initdb is missing (scripts/setup installs it)"
            );
            eprintln!("PostgreSQL server binaries not found: private-cluster test skipped");
            return None;
        }
        let root = parent.join("pg");
        std::fs::create_dir_all(root.join("sock")).expect("cluster folder");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster folder");
        }
        let data = root.join("data");
        let data_s = data.to_str().expect("UTF-8 path");
        let mut args = vec!["-D", data_s, "-U", "postgres", "--auth=trust", "--no-sync"];
        args.extend_from_slice(initdb_args);
        let out = as_owner("initdb", &args);
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let cluster = PrivateCluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            root,
            port,
        };
        cluster.start();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.root.join("data").to_string_lossy().into_owned()
    }

    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=16MB",
            self.port,
            self.root.join("sock").display()
        );
        let log = self.root.join("server.log");
        let out = as_owner(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                log.to_str().expect("UTF-8 path"),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        );
        assert!(out.status.success(), "pg_ctl start: {}", self.log_tail());
    }

    /// A fast shutdown: open connections are ended, as on a service restart.
    pub fn stop(&self) {
        let _ = as_owner("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub fn is_running(&self) -> bool {
        as_owner("pg_ctl", &["-D", &self.data(), "status"])
            .status
            .success()
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = as_owner("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
    }
}
