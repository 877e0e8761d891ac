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

# /health on the address HOST names (as the server reads it, brackets optional): a wildcard is
# probed on loopback (:: on both, as it may be dual-stack or IPv6 only), any other address or
# host name as itself. A probe of 127.0.0.1 alone failed a server on ::1 or a container's IP.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD bun -e "const e=process.env,h=e.HOST||'127.0.0.1',b=h.startsWith('[')?h.slice(1,-1):h; \
const at=b==='0.0.0.0'?['127.0.0.1']:b==='::'?['127.0.0.1','[::1]']:[b.includes(':')?'['+b+']':b]; \
const up=a=>fetch('http://'+a+':'+(e.PORT||8080)+'/health').then(r=>r.ok||Promise.reject()); \
Promise.any(at.map(up)).then(()=>process.exit(0),()=>process.exit(1))"

STOPSIGNAL SIGTERM
CMD ["bun", "src/main.ts"]
