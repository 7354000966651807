# shellcheck shell=bash
# pcscd with vsmartcard's vpcd driver (two virtual readers, cards connect on 35963/35964).
# Starts one only if none is running, and stops only the one it started.
# Usage: source scripts/lib/pcscd.sh; pcscd_start; …; pcscd_stop
# Exports SCR_TEST_PCSCD_RESTART=1 when this script owns pcscd, so the test that restarts
# it may do so without disturbing a pcscd someone else relies on.

SCR_PCSCD_STARTED=""

_pcscd_sudo() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

_pcscd_readers_ready() {
  # opensc-tool lists PC/SC readers; the vpcd ones appear once pcscd has loaded the driver.
  opensc-tool --list-readers 2>/dev/null | grep -q "Virtual PCD 00 00"
}

pcscd_start() {
  if pgrep -x pcscd >/dev/null; then
    echo "pcscd: using the one already running"
  else
    # pcscd -f needs /run/pcscd; it logs to its own file, which holds no patient data.
    _pcscd_sudo mkdir -p /run/pcscd
    local log=${SCR_PCSCD_LOG:-/tmp/scr-pcscd.log}
    _pcscd_sudo sh -c "pcscd -f >'$log' 2>&1 &"
    SCR_PCSCD_STARTED=1
    export SCR_TEST_PCSCD_RESTART=1
  fi
  local i
  for i in $(seq 1 50); do
    if _pcscd_readers_ready; then return 0; fi
    sleep 0.1
  done
  echo "pcscd is running but the vpcd readers did not appear (is vsmartcard-vpcd installed?)" >&2
  return 1
}

pcscd_stop() {
  if [ -n "$SCR_PCSCD_STARTED" ]; then
    # By name: the restart test may have replaced the process this script started.
    _pcscd_sudo pkill -x pcscd || true
    SCR_PCSCD_STARTED=""
  fi
}
