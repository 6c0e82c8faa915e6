#!/usr/bin/env bash
# Installs the Debian packages Lookout runs (Prometheus, Alertmanager, ...) when any is missing.
# Idempotent and silent when everything is present. As root it installs; otherwise it prints the
# exact command and fails, because a half-working stack is worse than a clear stop.
set -euo pipefail
missing=()
for pkg in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "lookout: missing Debian packages: ${missing[*]}" >&2
  echo "fix: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "(then 'sudo systemctl disable --now prometheus prometheus-alertmanager' so their services do not hold :9090/:9093)" >&2
  exit 1
fi
echo "lookout: installing Debian packages: ${missing[*]}"
# Debian starts each package's systemd service on install; Lookout runs its own children on the same
# ports, so keep the services from starting (the standard policy-rc.d switch), unless a policy exists.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
fi
trap '[[ $own_policy -eq 1 ]] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
