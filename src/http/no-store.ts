// Answers that carry a secret — access and refresh tokens, a key shown once at its creation —
// must not be kept by a browser cache or a proxy (RFC 6749 §5.1; RFC 9111 §5.2.2.5).

export const NO_STORE_HEADERS = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;
