#!/bin/sh
# The nginx service of docker-compose.yml: renders the config for ROOMSIGNAL_NODES (host:port ...) listening on
# ROOMSIGNAL_LISTEN, logs to the container's output, and runs nginx in the foreground.
set -eu
state=/tmp/roomsignal-nginx
mkdir -p "$state/nginx/tmp"
for attempt in $(seq 1 30); do
  # The nodes' names resolve once their containers exist; wait for them rather than fail the first start.
  ACCESS_LOG=/dev/stdout ERROR_LOG=/dev/stderr /etc/roomsignal/render-nginx-conf.sh \
    "${ROOMSIGNAL_LISTEN:-8080}" "$state" ${ROOMSIGNAL_NODES:?set ROOMSIGNAL_NODES to the nodes host:port} >"$state/nginx/nginx.conf" && break
  [ "$attempt" -lt 30 ] || exit 1
  sleep 1
done
[ "$(id -u)" -eq 0 ] && chown -R nobody "$state/nginx/tmp"
exec nginx -c "$state/nginx/nginx.conf" -p "$state/nginx"
