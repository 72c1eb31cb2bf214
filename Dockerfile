# Concierge as a container: a multi-stage build, a small Debian runtime, a
# non-root user. The binary carries its defaults (config, templates, hub
# data, risk rules, migrations), so the image holds nothing else.
#
#   docker build -t concierge .
#   docker run --rm -e DATABASE_URL=postgres://… -p 8080:8080 -p 2525:2525 concierge
#
# See compose.yaml for Postgres, a `serve` and a `worker` together.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# .sqlx/ holds the checked queries: no database is needed to build.
RUN SQLX_OFFLINE=true cargo build --release --locked --bin concierge \
 && strip target/release/concierge

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/concierge --create-home concierge
COPY --from=build /src/target/release/concierge /usr/local/bin/concierge
USER concierge
WORKDIR /var/lib/concierge
ENV CONCIERGE__HTTP__ADDR=0.0.0.0:8080 \
    CONCIERGE__SMTP__ADDR=0.0.0.0:2525 \
    CONCIERGE__LOG__FORMAT=json
EXPOSE 8080 2525
ENTRYPOINT ["concierge"]
CMD ["serve"]
