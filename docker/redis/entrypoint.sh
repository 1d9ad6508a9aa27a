#!/bin/bash
# `redis-server ...` runs as the redis user in /data, which is handed to that user first when
# started as root (a fresh volume belongs to root); anything else runs as is.
set -euo pipefail
if [[ "${1:-}" == redis-server && "$(id -u)" == 0 ]]; then
    chown redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
