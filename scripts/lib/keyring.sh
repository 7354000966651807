# shellcheck shell=bash
# A private OS keyring for the tests and for the demo on a machine without a desktop
# session: gnome-keyring's Secret Service on a private D-Bus session bus, unlocked with a
# throwaway password, its files in a temporary folder removed afterwards.
# Usage: source scripts/lib/keyring.sh; keyring_run CMD ARGS…   (returns CMD's status)
# With SCR_KEYRING_DIR set, the keyring's files live there and are kept (the demo keeps its
# offline records openable from one run to the next).

keyring_run() {
  local dir rc=0 keep=""
  if [ -n "${SCR_KEYRING_DIR:-}" ]; then
    dir=$SCR_KEYRING_DIR
    keep=1
  else
    dir=$(mktemp -d /tmp/scr-keyring.XXXXXX)
  fi
  mkdir -p "$dir/data" "$dir/run"
  chmod 700 "$dir/run"
  # A wrong unlock password still exits 0 (TESTING.md); the tests' probes catch a keyring
  # that does not answer.
  XDG_DATA_HOME="$dir/data" XDG_RUNTIME_DIR="$dir/run" \
    dbus-run-session -- bash -c '
      printf %s scr-throwaway-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
      exec "$@"' keyring "$@" 2> >(grep -v "Failed to set fd limit" >&2) || rc=$?
  if [ -z "$keep" ]; then rm -rf "$dir"; else rm -rf "$dir/run"; fi
  return "$rc"
}
