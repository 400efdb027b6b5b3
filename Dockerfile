# syntax=docker/dockerfile:1
# Build: a static binary, no cgo.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/thumbmail ./cmd/thumbmail

# Run: distroless static, non-root. Configure with THUMBMAIL_* variables
# (THUMBMAIL_IMAP, THUMBMAIL_SESSION_KEYS, THUMBMAIL_BASE_PATH,
# THUMBMAIL_TRUSTED_PROXIES, THUMBMAIL_SESSION_STORE,
# THUMBMAIL_METRICS_LISTEN, ...); every flag has one, see README.md.
# The HEALTHCHECK asks -listen for <base path>/healthz.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/thumbmail /usr/local/bin/thumbmail
ENV THUMBMAIL_LISTEN=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/thumbmail", "-healthcheck"]
ENTRYPOINT ["/usr/local/bin/thumbmail"]
