# shellcheck shell=bash
# Shared by the scripts: one Cargo target directory outside the clone, reused by every
# checkout on this machine (a clean debug build of the workspace takes minutes on 2 cores).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/scr-viewer/target}
if [ -n "${CI:-}" ]; then export CARGO_TERM_COLOR=never; fi
