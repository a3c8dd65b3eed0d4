# syntax=docker/dockerfile:1
# One image for all five Rust services (backend-api, websocket, recurring, notification, audit).
# The workspace is built once; the five stripped binaries share every dependency, and the
# process is chosen at run time: Helm sets `command: ["/usr/local/bin/<service>"]` (the
# migration hook runs `/usr/local/bin/backend-api migrate`). Tag the result once per service
# name (START.md) so images, app-ids and Services all carry the same name (docs/contract.md §1).
#
#   docker build -f docker/rust.Dockerfile -t taskfleet/services:dev .
#
# Stages: planner (manifests only) -> deps (dependencies compiled against stub sources; cached
# until a Cargo.toml or Cargo.lock changes) -> build (the real sources) -> runtime (distroless).

ARG RUST_IMAGE=rust:1-bookworm

# --- planner: the dependency "recipe" -- every manifest plus an empty stub for every target
# file the manifests need. Copying everything here is fine: only /recipe leaves this stage, and
# its content (so the deps layer's cache key) changes only when a manifest does.
FROM ${RUST_IMAGE} AS planner
WORKDIR /src
COPY . .
RUN set -eu; mkdir -p /recipe; \
    cp Cargo.toml Cargo.lock /recipe/; \
    for manifest in crates/*/Cargo.toml; do \
      crate="$(dirname "$manifest")"; \
      mkdir -p "/recipe/$crate"; cp "$manifest" "/recipe/$crate/"; \
      for target in $(cd "$crate" && find src tests benches examples -name '*.rs' \
                        \( -path 'src/lib.rs' -o -path 'src/main.rs' -o -path 'src/bin/*' \
                           -o -path 'tests/*/main.rs' -o -path 'tests/*.rs' -o -path 'benches/*' \
                           -o -path 'examples/*' \) 2>/dev/null); do \
        mkdir -p "/recipe/$crate/$(dirname "$target")"; \
        case "$target" in \
          src/lib.rs) : > "/recipe/$crate/$target" ;; \
          *) echo 'fn main() {}' > "/recipe/$crate/$target" ;; \
        esac; \
      done; \
    done

# --- deps: compile every dependency of the five services with stub sources.
FROM ${RUST_IMAGE} AS deps
WORKDIR /src
ENV CARGO_TERM_COLOR=never CARGO_PROFILE_RELEASE_STRIP=symbols
COPY --from=planner /recipe/ ./
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo build --release --locked \
      -p backend-api -p websocket -p recurring -p notification -p audit

# --- build: the real sources. Touch them so cargo does not take the stub builds (whose
# artefacts are newer than the copied files' modification times) for up to date.
FROM deps AS build
COPY crates/ crates/
COPY migrations/ migrations/
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    find crates migrations -type f -exec touch {} + \
 && cargo build --release --locked \
      -p backend-api -p websocket -p recurring -p notification -p audit \
 && mkdir -p /out \
 && for bin in backend-api websocket recurring notification audit; do \
      cp "target/release/$bin" /out/; \
    done

# --- runtime: glibc + libgcc + CA certificates, no shell, user 65532 (nonroot). No
# HEALTHCHECK: Kubernetes probes /healthz and /readyz, and Docker's would run as a second
# opinion nobody reads.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/ /usr/local/bin/
USER nonroot
ENV LOG_FORMAT=json
EXPOSE 8000 8001 8002 8003 8004
# Without a command the image starts backend-api; every Deployment names its binary.
ENTRYPOINT []
CMD ["/usr/local/bin/backend-api"]
