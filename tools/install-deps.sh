#!/usr/bin/env bash
# Installs every Debian package ringgate needs to build, test and run its demo.
# Idempotent: a second run only checks. Must run as root on Debian bookworm.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config
  clang llvm bpftool libbpf-dev libxdp-dev xdp-tools
  dpdk dpdk-dev libdpdk-dev
  libboost-dev libboost-program-options-dev libyaml-cpp-dev libssl-dev
  libgtest-dev libgmock-dev libsqlite3-dev sqlite3 libpq-dev postgresql
  nlohmann-json3-dev libcli11-dev libfmt-dev
  python3-prometheus-client
  libcrypt-dev openssl   # remote management: yescrypt hashes, TLS certificates
  libsystemd-dev         # sd_notify: the daemons' units are Type=notify
  # the Debian package (debian/, tests/package): its build, man pages, lintian; the completion test
  debhelper dpkg-dev help2man go-md2man lintian bash-completion
  # test topology and real peers
  iproute2 iputils-ping iputils-arping bridge-utils ethtool
  nginx-light curl wrk tcpdump python3 python3-yaml procps psmisc
  keepalived nftables conntrack
  chromium   # the web console's browser test (Chrome DevTools protocol over a pipe)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian starts the packaged servers; ringgate's tests start their own instances
# inside namespaces, so the system-wide ones stay off (they would hold port 80/5432).
for svc in nginx postgresql; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
echo "install-deps: all packages present"
