# syntax=docker/dockerfile:1
# Build: docker build -t hookline .
# Run:   docker run -p 8080:8080 -v hookline-data:/data hookline
#        (config: mount a file and pass --config /etc/hookline/hookline.toml, or set HOOKLINE_CONFIG)

FROM oven/bun:1.4.5 AS build
WORKDIR /src
# Bun installs straight from package-lock.json (the one lockfile), exactly as npm ci would.
COPY package.json package-lock.json ./
RUN bun install --frozen-lockfile
COPY tsconfig.json bunfig.toml ./
COPY src ./src
COPY migrations ./migrations
RUN bun run build && ./dist/hookline --version

# The compiled binary needs glibc and nothing else.
FROM debian:bookworm-slim AS runtime
RUN groupadd --system --gid 10001 hookline \
 && useradd --system --uid 10001 --gid hookline --home-dir /data --no-create-home hookline \
 && mkdir -p /data /etc/hookline \
 && chown hookline:hookline /data \
 && chmod 0700 /data
COPY --from=build /src/dist/hookline /usr/local/bin/hookline
# /data is a directory, not a file: SQLite in WAL mode keeps -wal and -shm files beside the database.
VOLUME ["/data"]
ENV HOOKLINE_SERVER_HOST=0.0.0.0 \
    HOOKLINE_SERVER_PORT=8080 \
    HOOKLINE_DATABASE_PATH=/data/hookline.db
USER hookline
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["hookline", "healthcheck"]
ENTRYPOINT ["hookline"]
CMD ["serve"]
