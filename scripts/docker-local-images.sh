#!/usr/bin/env bash
# Builds the local images docker-compose.local.yml runs, for machines that cannot pull from a registry:
#   roomsignal-local/bookworm   Debian bookworm (debootstrap --variant=minbase) with redis-server, nginx, coturn and
#                               what the .NET runtime needs (libicu72, libssl3, ca-certificates); a user app (uid 1654)
#   roomsignal-local/aspnet:10.0  the above plus this machine's .NET runtime (dotnet host, Microsoft.NETCore.App and
#                               Microsoft.AspNetCore.App copied from the local dotnet install): stands in for
#                               mcr.microsoft.com/dotnet/aspnet:10.0
#   roomsignal/server:local     the repository's Dockerfile built on those two, with the server published on this
#                               machine (dotnet publish into artifacts/docker/app, passed as PREBUILT)
# Usage: scripts/docker-local-images.sh [--rebuild-base]   (the two base images are built once and reused)
# Needs a running Docker engine (and access to it), the .NET 10 SDK, and for the first run root and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE=roomsignal-local/bookworm
RUNTIME=roomsignal-local/aspnet:10.0
APP=${ROOMSIGNAL_LOCAL_APP_IMAGE:-roomsignal/server:local}
say() { printf '[docker-local-images %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }

rebuild=
[ "${1:-}" = --rebuild-base ] && rebuild=1
docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd first)"
command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
command -v dotnet >/dev/null || die "the .NET 10 SDK (dotnet) is missing"

if [ -n "$rebuild" ] || ! docker image inspect "$BASE" >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "building $BASE needs root (debootstrap): run this script with sudo"
  rootfs=$(mktemp -d /tmp/roomsignal-bookworm.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap --variant=minbase bookworm with redis-server, nginx, coturn, libicu72, libssl3 (about a minute)"
  debootstrap --variant=minbase --include=redis-server,nginx-light,coturn,libicu72,libssl3,ca-certificates \
    bookworm "$rootfs" >/tmp/roomsignal-debootstrap.log 2>&1 \
    || { tail -20 /tmp/roomsignal-debootstrap.log >&2; die "debootstrap failed (log: /tmp/roomsignal-debootstrap.log)"; }
  # The user the official .NET images run as (APP_UID 1654), so the same Dockerfile's USER works on both.
  chroot "$rootfs" sh -c 'groupadd -g 1654 app && useradd -u 1654 -g app -d /home/app -m -s /usr/sbin/nologin app'
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"; trap - EXIT
  say "built $BASE"
else
  say "$BASE exists; reusing it (--rebuild-base to build it again)"
fi

if [ -n "$rebuild" ] || ! docker image inspect "$RUNTIME" >/dev/null 2>&1; then
  dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  ctx=$(mktemp -d /tmp/roomsignal-runtime.XXXXXX)
  trap 'rm -rf "$ctx"' EXIT
  mkdir -p "$ctx/dotnet/shared"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$ctx/dotnet/"
  cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$ctx/dotnet/shared/"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV APP_UID=1654 DOTNET_RUNNING_IN_CONTAINER=true
DOCKERFILE
  say "building $RUNTIME with this machine's .NET runtime ($(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | tr '\n' ' '))"
  docker build -q -t "$RUNTIME" "$ctx" >/dev/null
  rm -rf "$ctx"; trap - EXIT
else
  say "$RUNTIME exists; reusing it"
fi

say "dotnet publish src/RoomSignal.Server -c Release -o artifacts/docker/app"
rm -rf artifacts/docker/app
dotnet publish src/RoomSignal.Server -c Release -o artifacts/docker/app -nologo -clp:ErrorsOnly -v:q >&2 || die "dotnet publish failed"
say "docker build -t $APP (the repository's Dockerfile, PREBUILT=artifacts/docker/app)"
docker build -q -t "$APP" \
  --build-arg SDK_IMAGE="$BASE" --build-arg RUNTIME_IMAGE="$RUNTIME" --build-arg PREBUILT=artifacts/docker/app \
  -f Dockerfile . >/dev/null
say "ready: $BASE, $RUNTIME, $APP"
