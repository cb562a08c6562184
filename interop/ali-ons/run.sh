#!/usr/bin/env bash
# Starts mqnamesrv and mqbroker (debug builds) on free loopback ports, runs the ali-ons test,
# stops both. Usage: interop/ali-ons/run.sh <target dir>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../target/debug}"
work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ns_port=$(free_port); br_port=$(free_port)
while [ "$br_port" -lt 2000 ]; do br_port=$(free_port); done
printf 'listenPort=%s\nkvConfigPath=%s/kv.json\n' "$ns_port" "$work" > "$work/namesrv.conf"
printf 'listenPort=%s\nstorePathRootDir=%s/store\nnamesrvAddr=127.0.0.1:%s\n' "$br_port" "$work" "$ns_port" > "$work/broker.conf"
"$bin/mqnamesrv" -c "$work/namesrv.conf" > "$work/namesrv.log" 2>&1 & ns_pid=$!
"$bin/mqbroker" -c "$work/broker.conf" > "$work/broker.log" 2>&1 & br_pid=$!
cleanup() { kill "$br_pid" "$ns_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if (echo > "/dev/tcp/127.0.0.1/$br_port") 2>/dev/null && (echo > "/dev/tcp/127.0.0.1/$ns_port") 2>/dev/null; then break; fi
  sleep 0.1
done
# The broker opens its port before it registers (as Java's does): wait for the first registration.
for _ in $(seq 1 200); do
  if grep -q "registered with name server" "$work/broker.log"; then break; fi
  sleep 0.1
done
cd "$here"
timeout 60 node test.js "127.0.0.1:$ns_port" "127.0.0.1:$br_port"
