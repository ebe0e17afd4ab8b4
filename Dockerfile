# syntax=docker/dockerfile:1
#
# The production image of Recovery: the one binary, built without the
# embedded Temporal server and the private Postgres (-tags noembed; those
# are for `recovery dev`), static, on distroless as the nonroot user.
#
#   docker build -t recovery .
#   docker run --rm recovery help
#
# It runs `serve` by default; the roles are `api`, `relay`, `worker`, and the
# one-shots `migrate` and `search-attributes` (deploy/compose, deploy/helm).
# deploy/deploy_test.go builds the binary exactly as below and runs it as
# this image does.

# At least go.mod's go version (the toolchain is never downloaded).
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
ENV GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    go mod download
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags noembed -trimpath -ldflags='-s -w' -o /out/recovery ./cmd/recovery

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="recovery" \
      org.opencontainers.image.description="Proactive mistake disclosure and service recovery: API, relay and Temporal worker" \
      org.opencontainers.image.source="https://github.com/recoveryhq/recovery" \
      org.opencontainers.image.url="https://github.com/recoveryhq/recovery" \
      org.opencontainers.image.documentation="https://github.com/recoveryhq/recovery/blob/main/docs/operations.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/recovery /recovery
USER nonroot:nonroot
# Listen on every interface of the container (the binary's default is
# loopback); the codec server's port, for `codec-server`, likewise.
ENV RECOVERY_ADDR=0.0.0.0:8080 RECOVERY_CODEC_ADDR=0.0.0.0:8081
EXPOSE 8080
# Distroless has no shell and no curl: the binary probes itself
# (GET /readyz on RECOVERY_ADDR's port, 3 s, exit 0 on 2xx).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/recovery", "healthcheck"]
ENTRYPOINT ["/recovery"]
CMD ["serve"]
