#!/bin/bash
# Writes /etc/pgbouncer/pgbouncer.ini and userlist.txt from edoburu/pgbouncer's variables, then
# runs the command. Honoured: DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME, AUTH_TYPE,
# LISTEN_PORT, POOL_MODE, MAX_CLIENT_CONN, DEFAULT_POOL_SIZE, RESERVE_POOL_SIZE,
# QUERY_WAIT_TIMEOUT, SERVER_LOGIN_RETRY, IGNORE_STARTUP_PARAMETERS (defaults as in that image
# or PgBouncer's own).
set -euo pipefail
dir=/etc/pgbouncer
: "${DB_HOST:?DB_HOST must be set}" "${DB_USER:?DB_USER must be set}"
: "${DB_PASSWORD:?DB_PASSWORD must be set}"
db_name="${DB_NAME:-*}"
target="host=${DB_HOST} port=${DB_PORT:-5432}"
[[ "$db_name" != "*" ]] && target="$target dbname=${db_name}"
umask 077
cat > "$dir/pgbouncer.ini" <<INI
[databases]
${db_name} = ${target}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = ${LISTEN_PORT:-5432}
unix_socket_dir =
auth_type = ${AUTH_TYPE:-md5}
auth_file = ${dir}/userlist.txt
pool_mode = ${POOL_MODE:-session}
max_client_conn = ${MAX_CLIENT_CONN:-100}
default_pool_size = ${DEFAULT_POOL_SIZE:-20}
reserve_pool_size = ${RESERVE_POOL_SIZE:-0}
query_wait_timeout = ${QUERY_WAIT_TIMEOUT:-120}
server_login_retry = ${SERVER_LOGIN_RETRY:-15}
ignore_startup_parameters = ${IGNORE_STARTUP_PARAMETERS:-extra_float_digits}
INI
# userlist.txt quotes: a `"` inside a value is written twice.
printf '"%s" "%s"\n' "${DB_USER//\"/\"\"}" "${DB_PASSWORD//\"/\"\"}" > "$dir/userlist.txt"
exec "$@"
