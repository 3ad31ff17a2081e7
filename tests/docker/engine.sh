#!/usr/bin/env bash
# A Docker engine for the compose test, and the host as it was afterwards.
#   engine.sh start STATE_DIR   installs docker.io, docker-compose and debootstrap from Debian when
#                               missing; starts dockerd unless one runs, first saving what it changes
#                               (iptables rules, ip_forward, bridges) in STATE_DIR
#   engine.sh stop STATE_DIR    stops the dockerd it started and puts those back
# Exits 3 when no Docker engine can run here (no kernel support), so the test can say so and skip.
set -euo pipefail
cmd="${1:?start or stop}"
state="${2:?state dir}"
mkdir -p "$state"
say() { echo "docker-engine: $*"; }

# Every table as it was saved: those dockerd made (nat, its chains) emptied first, since a save from
# before them does not name them and iptables-restore leaves tables it is not given alone.
restore_tables() {
  local tool="$1" saved="$2" table chain
  command -v "$tool-save" >/dev/null || return 0
  for table in $("$tool-save" | sed -n 's/^\*//p'); do
    for chain in $("$tool-save" -t "$table" | sed -n 's/^:\([A-Z]*\) \([A-Z]*\) .*/\1/p'); do
      "$tool" -t "$table" -P "$chain" ACCEPT 2>/dev/null || true
    done
    "$tool" -t "$table" -F
    "$tool" -t "$table" -X
  done
  if [ -s "$saved" ]; then "$tool-restore" <"$saved"; fi
}

case "$cmd" in
start)
  missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v iptables-save >/dev/null || missing+=(iptables)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if docker info >/dev/null 2>&1; then
    say "a Docker engine runs already; using it as it is"
    exit 0
  fi
  iptables-save >"$state/iptables"
  ip6tables-save >"$state/ip6tables" 2>/dev/null || true
  sysctl -n net.ipv4.ip_forward >"$state/ip_forward"
  ip -o link show type bridge | awk -F': ' '{print $2}' | sort >"$state/bridges"
  say "starting dockerd (log: $state/dockerd.log)"
  dockerd >"$state/dockerd.log" 2>&1 &
  echo $! >"$state/dockerd.pid"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null || break
    sleep 1
  done
  tail -20 "$state/dockerd.log" >&2
  "$0" stop "$state" || true
  exit 3
  ;;
stop)
  [ -f "$state/dockerd.pid" ] || exit 0
  pid="$(cat "$state/dockerd.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # containerd, started by dockerd, goes with it; what dockerd changed goes back.
  pkill -f '^containerd --config /var/run/docker/containerd' 2>/dev/null || true
  restore_tables iptables "$state/iptables"
  restore_tables ip6tables "$state/ip6tables"

  sysctl -qw net.ipv4.ip_forward="$(cat "$state/ip_forward")"
  for bridge in $(ip -o link show type bridge | awk -F': ' '{print $2}' | sort | comm -13 "$state/bridges" -); do
    ip link delete "${bridge%@*}" 2>/dev/null || true
  done
  rm -f "$state/dockerd.pid"
  # What filters packets (rules, and policies other than ACCEPT) must be what it was.
  rules() { grep -E '^(-A |:[A-Za-z0-9_-]+ (DROP|REJECT) )' | sort; }
  if [ "$(iptables-save | rules)" != "$(rules <"$state/iptables")" ]; then
    echo "docker-engine: iptables differs from before dockerd started:" >&2
    diff <(rules <"$state/iptables") <(iptables-save | rules) >&2 || true
    exit 1
  fi
  [ "$(sysctl -n net.ipv4.ip_forward)" = "$(cat "$state/ip_forward")" ] || { echo "docker-engine: ip_forward differs" >&2; exit 1; }
  say "stopped dockerd; iptables, ip_forward and bridges as before"
  ;;
*)
  echo "usage: engine.sh start|stop STATE_DIR" >&2
  exit 2
  ;;
esac
