# syntax=docker/dockerfile:1.7
#
# CryptoServe server image: `cryptoserve serve` on 0.0.0.0:8003 as uid 10001, plus a plain
# health-and-metrics listener on 0.0.0.0:9003 (CRYPTOSERVE_OPS_LISTEN). Give it a certificate
# (CRYPTOSERVE_TLS_CERT/_KEY, optionally CRYPTOSERVE_TLS_CLIENT_CA) and 8003 speaks TLS only;
# in production the server refuses to start without one unless CRYPTOSERVE_TLS=off.
#   docker build -t cryptoserve:local .
# Stages: chef (tooling) -> planner (dependency recipe) -> builder (deps layer, then our code)
# -> runtime (debian slim, the binary and a bash-only healthcheck).

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS chef
# cargo-chef turns the workspace manifests into a "recipe" so dependencies build in their own
# layer, rebuilt only when Cargo.toml/Cargo.lock change.
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# `production` (Cargo.toml): fat LTO, one codegen unit. `--build-arg CARGO_PROFILE=release`
# builds several minutes faster (scripts/compose does, for its drills).
ARG CARGO_PROFILE=production
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --profile "$CARGO_PROFILE" --locked -p cryptoserve-server \
    --recipe-path recipe.json
COPY . .
RUN cargo build --profile "$CARGO_PROFILE" --locked -p cryptoserve-server \
    && install -m 0755 "target/$CARGO_PROFILE/cryptoserve" /usr/local/bin/cryptoserve

FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cryptoserve \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin cryptoserve

# Probe for Docker/compose healthchecks without curl (bash's /dev/tcp; see the script). It asks
# the plain ops listener (CRYPTOSERVE_OPS_LISTEN). Kubernetes probes use httpGet on the ops port
# and do not need it. A file rather than a heredoc: Podman's builder (buildah < 1.33) has none.
COPY --chmod=0755 docker/cryptoserve-healthcheck /usr/local/bin/cryptoserve-healthcheck

COPY --from=builder /usr/local/bin/cryptoserve /usr/local/bin/cryptoserve

ENV CRYPTOSERVE_LISTEN=0.0.0.0:8003 \
    CRYPTOSERVE_OPS_LISTEN=0.0.0.0:9003 \
    CRYPTOSERVE_ENV=production \
    CRYPTOSERVE_LOG_FORMAT=json
USER 10001:10001
# 8003: the API (TLS when a certificate is set); 9003: /health/* and /metrics, plain HTTP.
EXPOSE 8003 9003
# The server turns SIGTERM into: readiness 503, wait CRYPTOSERVE_SHUTDOWN_DELAY, drain.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["cryptoserve-healthcheck", "/health/live"]
CMD ["cryptoserve", "serve"]
