//! `spine-load` against a small seeded spine in this process: it signs in like a card and
//! drives `$summary` for a second. Also makes `cargo test --workspace` build the binary, which
//! `scripts/bench soak --smoke` runs afterwards.

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_a_seeded_spine() {
    let data = tempfile::tempdir().expect("temp dir");
    let spine = scr_demo::setup::start_seeded(data.path(), 200, 42)
        .await
        .expect("seeded spine");
    let base = format!("https://127.0.0.1:{}", spine.addr.port());
    let data_dir = data.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_spine-load"))
            .args(["--base", &base, "--scenario", "summary", "--clients", "1"])
            .args([
                "--seconds",
                "1",
                "--patients",
                "200",
                "--seed",
                "42",
                "--data",
            ])
            .arg(&data_dir)
            .output()
            .expect("run spine-load")
    })
    .await
    .expect("join");
    spine.shutdown().await.expect("shutdown");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "spine-load failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("clients=1"), "{stdout}");
}
