# Tally in one container: the server with its embedded store in /app/data (a volume).
FROM oven/bun:1.4-slim

WORKDIR /app
COPY package.json package-lock.json ./
RUN bun install --production --ignore-scripts
COPY src ./src
COPY web ./web

# The volume takes this directory's owner and mode: the server's user's alone (0700), as a data
# directory Tally creates itself (README: DATA_DIR).
RUN install -d -m 0700 -o bun -g bun /app/data
USER bun

ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/app/data
VOLUME ["/app/data"]
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD bun -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

STOPSIGNAL SIGTERM
CMD ["bun", "src/main.ts"]
