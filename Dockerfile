# syntax=docker/dockerfile:1
# Builds the prow-operator image:
#   docker build -t ghcr.io/prow-operator/prow-operator:dev .
# Needs BuildKit (the default since Docker 23) for the cache mounts.

# ---- build -----------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src

# Only what the workspace build needs. If a workspace member is added to
# Cargo.toml, COPY it here too.
COPY Cargo.toml Cargo.lock ./
COPY api ./api
COPY core ./core
# api embeds the CRDs it validates against.
COPY crds ./crds
COPY operator ./operator
COPY testkit ./testkit
# operator/Cargo.toml names the end-to-end scenarios as one of its test targets.
COPY tests/e2e ./tests/e2e

# The registry and target caches persist between builds; the binary is copied
# out of the cached target dir because cache mounts are not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p prow-operator \
 && install -D -m 0755 target/release/prow-operator /out/prow-operator

# ---- runtime ---------------------------------------------------------------
# distroless/cc: glibc and libgcc only (TLS is rustls/ring, no OpenSSL needed).
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.source="https://github.com/prow-operator/prow-operator" \
      org.opencontainers.image.description="Runs Prow declaratively" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/prow-operator /usr/local/bin/prow-operator
USER 65532:65532
# 8888 /hook (GitHub webhooks), 8081 /healthz /readyz, 9090 /metrics
EXPOSE 8888 8081 9090
ENTRYPOINT ["/usr/local/bin/prow-operator"]
CMD ["run"]
