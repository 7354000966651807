//! Demo, test and bench code stays out of what ships: the desktop app links no command-line
//! or benchmark crates, the spine's library no load-tool HTTP client or histograms, and
//! neither links this crate or the test kit (issue 12). Reads `cargo tree` offline, from the
//! lock file; no network.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// `cargo tree -p package -e normal` with `extra` arguments: one crate name a line.
fn tree(package: &str, extra: &[&str]) -> BTreeSet<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--locked", "--manifest-path"])
        .arg(&workspace)
        .args(["-p", package, "-e", "normal", "--prefix", "none"])
        .args(extra)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn assert_absent(package: &str, names: &[&str]) {
    let crates = tree(package, &[]);
    let found: Vec<_> = names.iter().filter(|n| crates.contains(**n)).collect();
    assert!(
        found.is_empty(),
        "{package} links {found:?} (see `cargo tree -p {package} -e normal -i NAME`)"
    );
}

#[test]
fn the_desktop_app_links_no_cli_bench_or_demo_crates() {
    assert_absent(
        "scr-viewer",
        &[
            "clap",
            "scr-doc",
            "rpassword",
            "hdrhistogram",
            "scr-demo",
            "scr-testkit",
            "scr-vcard",
            "scr-spine",
        ],
    );
    // Tauri itself depends on anyhow; none of our crates may bring it in.
    let users = tree("scr-viewer", &["-i", "anyhow", "--depth", "1"]);
    let ours: Vec<_> = users.iter().filter(|c| c.starts_with("scr-")).collect();
    assert!(
        ours.is_empty(),
        "anyhow reaches scr-viewer through {ours:?}"
    );
}

#[test]
fn the_spine_links_no_load_tool_or_demo_crates() {
    assert_absent(
        "scr-spine",
        &[
            "hdrhistogram",
            "reqwest",
            "scr-demo",
            "scr-testkit",
            "scr-vcard",
        ],
    );
}
