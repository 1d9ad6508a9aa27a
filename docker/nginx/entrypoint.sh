#!/bin/bash
# Runs the command (nginx) once something answers DNS on 127.0.0.11. nginx/upstreams.conf names
# Docker's embedded DNS server, 127.0.0.11, as nginx's resolver (so `--scale` is followed without
# a reload). Podman has none there (its aardvark-dns answers on each network's gateway), so when
# nothing listens on 127.0.0.11:53 this starts dns-stub there and the compose files run
# unchanged. Under Docker, or where the host already provides that address, it does nothing.
set -euo pipefail
# 0B00007F:0035 is 127.0.0.11:53 in /proc/net/udp's notation.
if ! grep -q ' 0B00007F:0035 ' /proc/net/udp; then
    dns-stub 127.0.0.11 &
    for _ in $(seq 50); do
        grep -q ' 0B00007F:0035 ' /proc/net/udp && break
        sleep 0.1
    done
fi
exec "$@"
