// GET /dashboard: the built-in page of web/. Its TypeScript (with uPlot and the CSS it imports)
// is bundled by Bun.build on the first request and kept in memory; every asset is served from
// here, so the page needs no CDN and works offline. A failed build is retried next request.

import * as path from 'node:path';
import { Elysia, t } from 'elysia';
import { AppError } from '../../core/index.ts';

export interface DashboardOptions {
  /** Where index.html and dashboard.ts live; the repository's web/ by default. */
  webDir?: string;
}

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

const DEFAULT_WEB_DIR = path.resolve(import.meta.dir, '../../../web');

/** The page talks only to this server: scripts, styles, fetches and its WebSocket. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function asset(body: Uint8Array<ArrayBuffer>, type: string): Asset {
  return { body, type, etag: `"${Bun.hash(body).toString(36)}"` };
}

/** Bundles web/dashboard.ts (JS + CSS) and reads web/index.html. */
async function buildDashboard(webDir: string): Promise<Map<string, Asset>> {
  const result = await Bun.build({
    entrypoints: [path.join(webDir, 'dashboard.ts')],
    target: 'browser',
    minify: true,
    naming: '[name].[ext]',
    throw: false,
  });
  if (!result.success) {
    throw new Error(`the dashboard did not build: ${result.logs.map(String).join('; ')}`);
  }
  const assets = new Map<string, Asset>();
  for (const output of result.outputs) {
    const bytes = new Uint8Array(await output.arrayBuffer());
    assets.set(path.basename(output.path), asset(bytes, output.type));
  }
  const html = await Bun.file(path.join(webDir, 'index.html')).bytes();
  assets.set('index.html', asset(html, 'text/html;charset=utf-8'));
  return assets;
}

function serve(assets: Map<string, Asset>, name: string, request: Request): Response {
  const found = assets.get(name);
  if (found === undefined) throw new AppError('not_found', `no dashboard asset ${name}`);
  const headers: Record<string, string> = {
    'content-type': found.type,
    etag: found.etag,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  };
  if (name === 'index.html') {
    headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
    // Nothing the page loads or opens learns where it came from.
    headers['referrer-policy'] = 'no-referrer';
  }
  if (request.headers.get('if-none-match') === found.etag) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(found.body, { headers });
}

export function dashboardRoutes(options: DashboardOptions = {}) {
  const webDir = options.webDir ?? DEFAULT_WEB_DIR;
  let built: Promise<Map<string, Asset>> | null = null;
  const assets = () => {
    built ??= buildDashboard(webDir).catch((error: unknown) => {
      built = null;
      throw error;
    });
    return built;
  };
  return new Elysia({ name: 'dashboard' })
    .get('/dashboard', async ({ request }) => serve(await assets(), 'index.html', request), {
      detail: { hide: true },
    })
    .get(
      '/dashboard/:file',
      async ({ params, request }) => serve(await assets(), params.file, request),
      { params: t.Object({ file: t.String({ maxLength: 64 }) }), detail: { hide: true } },
    );
}
