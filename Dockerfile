# aperture: image proxy / CDN origin. Multi-stage build:
#   builder  compiles the release binary (dependencies in their own cached layer),
#   runtime  debian-slim with the binary, run as a non-root user.
# The build and layout steps live in scripts/build-release.sh, which
# scripts/docker-build.sh also runs (outside Docker) so CI checks this file's steps.
#
#   docker build -t aperture .
#   docker run -p 8080:8080 -e APERTURE_KEY=... -e APERTURE_SALT=... aperture
#
# All configuration is by environment (APERTURE_*, see docs/configuration.md); PORT
# is honored (listens on 0.0.0.0:$PORT when APERTURE_LISTEN is unset).

FROM rust:1.95-slim-bookworm AS builder
# nasm: mozjpeg's and rav1e's SIMD code (without it JPEG work falls back to slower C).
# libdav1d-dev + pkg-config: AVIF decoding links the system's libdav1d.
# Unpinned on purpose (DL3008): bookworm's security updates replace pinned versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nasm libdav1d-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
ENV CARGO_TERM_COLOR=never

# Dependency layer: manifests only (plus the small path crate), stub sources.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY loadtest/Cargo.toml ./loadtest/Cargo.toml
COPY scripts/build-release.sh ./scripts/build-release.sh
RUN scripts/build-release.sh deps

# The real sources: only aperture itself is compiled here.
COPY . .
RUN scripts/build-release.sh build \
 && scripts/build-release.sh stage /staging

FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to S3 endpoints; libdav1d6: AVIF decoding. Unpinned, as above.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libdav1d6 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home aperture
COPY --from=builder /staging/ /
WORKDIR /app
USER 10001:10001
ENV PORT=8080 \
    APERTURE_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["aperture", "health"]
CMD ["aperture", "serve"]
