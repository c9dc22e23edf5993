# syntax=docker/dockerfile:1
#
# The dsr image: one static binary, /dsr, whose subcommand picks the role
# (`migrate`, `api`, `worker`), plus /healthcheck, a tiny HTTP probe for container
# health checks (the runtime image has no shell, curl or wget).
#
#   docker build --build-arg VERSION=1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t dsr:1.2.3 .
#
# The tests in deploy/ (go test ./deploy/...) check this file; see deploy/README.md.

ARG GO_VERSION=1.26

# ---- build ------------------------------------------------------------------------------
# Runs on the build machine's platform and cross-compiles for the target (CGO is off).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src

# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/dsr ./cmd/dsr && \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w" -o /out/healthcheck ./deploy/healthcheck

# ---- runtime ----------------------------------------------------------------------------
# Distroless static: CA certificates, tzdata and /etc/passwd with the nonroot user
# (65532), nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="dsr" \
      org.opencontainers.image.description="Data-subject request workflows on Temporal: api, worker and migrate in one binary" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/dsr-project/dsr" \
      org.opencontainers.image.url="https://github.com/dsr-project/dsr" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"

COPY --from=build /out/dsr /dsr
COPY --from=build /out/healthcheck /healthcheck

# Containers must listen beyond loopback; the port is the one the manifests probe.
ENV DSR_HTTP_ADDR=0.0.0.0:8080 \
    DSR_LOG_FORMAT=json
EXPOSE 8080

USER nonroot:nonroot
ENTRYPOINT ["/dsr"]
CMD ["--help"]
