# shellcheck shell=bash
# A private OS keyring for the tests and for the demo on a machine without a desktop
# session: gnome-keyring's Secret Service on a private D-Bus session bus, unlocked with a
# throwaway password, its files in a temporary folder removed afterwards.
# Usage: source scripts/lib/keyring.sh; keyring_run CMD ARGS…   (returns CMD's status)

keyring_run() {
  local dir rc=0
  dir=$(mktemp -d /tmp/scr-keyring.XXXXXX)
  mkdir -p "$dir/data" "$dir/run"
  chmod 700 "$dir/run"
  # A wrong unlock password still exits 0 (TESTING.md); the tests' probes catch a keyring
  # that does not answer.
  XDG_DATA_HOME="$dir/data" XDG_RUNTIME_DIR="$dir/run" \
    dbus-run-session -- bash -c '
      printf %s scr-throwaway-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
      exec "$@"' keyring "$@" 2> >(grep -v "Failed to set fd limit" >&2) || rc=$?
  rm -rf "$dir"
  return "$rc"
}
