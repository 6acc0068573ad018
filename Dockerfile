# ivrd and ivrctl in one small image.
#   docker build -t helpdesk-ivr/ivrd .
#   docker run --rm helpdesk-ivr/ivrd ivrctl validate -config /etc/ivr/helpdesk.yaml   (with the config mounted)
# docker-compose.yml builds and runs it.

# --- build -------------------------------------------------------------
FROM golang:1.26-bookworm AS build
# go.mod needs Go 1.27.3 and the image pins its own Go (GOTOOLCHAIN is local
# there), so name the release: the go command fetches it from the module proxy.
ENV GOTOOLCHAIN=go1.27.3
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binaries (no cgo): they run on any base image. The time zone data
# is compiled in as well (time/tzdata in both commands).
ENV CGO_ENABLED=0
RUN go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ivrd ./cmd/ivrd \
 && go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ivrctl ./cmd/ivrctl

# --- run ---------------------------------------------------------------
FROM debian:12-slim
# tzdata for the system's own clock and logs (Europe/Rome), ca-certificates
# for an ARI_URL or DATABASE_URL over TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV TZ=Europe/Rome
# An unprivileged user; uid 10001 owns nothing on the host by accident.
# Secret files mounted for it (IVR_PIN_SECRET_FILE) must be readable by 10001.
RUN groupadd --system --gid 10001 ivr \
 && useradd --system --uid 10001 --gid ivr --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ivr \
 && install -d -o ivr -g ivr -m 0700 /var/lib/ivr
# IVR_DATA: the spool of call records written while PostgreSQL is down.
ENV IVR_DATA=/var/lib/ivr
COPY --from=build /out/ivrd /out/ivrctl /usr/local/bin/
USER ivr:ivr
WORKDIR /tmp
# the web panel, /metrics, /healthz, /readyz
EXPOSE 8080
# No ENTRYPOINT, so that `docker run IMAGE ivrctl ...` works too.
CMD ["ivrd", "-config", "/etc/ivr/helpdesk.yaml", "-listen", ":8080"]
