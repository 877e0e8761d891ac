// The files of the /openapi page (Swagger UI's script and style sheet), served from the npm
// package swagger-ui-dist by this server, so the API reference works on a machine with no
// internet access. Each file is read once, on its first request, and kept in memory.

import * as path from 'node:path';
import { Elysia } from 'elysia';
import { AppError } from '../../core/index.ts';

/** The API reference page (@elysiajs/openapi's); its document is at `${OPENAPI_PATH}/json`. */
export const OPENAPI_PATH = '/openapi';
/** The document itself (the plugin's default `specPath`). */
export const OPENAPI_JSON_PATH = `${OPENAPI_PATH}/json`;

/**
 * Where the reference services kept their interactive docs (FastAPI's /docs and /redoc; seed
 * 001's /api/v1/docs): each sends the browser on to this server's page.
 */
const FASTAPI_DOCS_PATHS = ['/docs', '/redoc', '/api/v1/docs'] as const;

/** Where the /openapi page loads its files from. */
const OPENAPI_UI_ASSETS = `${OPENAPI_PATH}/assets`;

const FILES: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript;charset=utf-8',
  'swagger-ui.css': 'text/css;charset=utf-8',
};

/** The swagger-ui-dist options of the openapi plugin: files from here, nothing from outside. */
export const swaggerUiOptions = {
  cdn: `${OPENAPI_UI_ASSETS}/swagger-ui-bundle.js`,
  theme: `${OPENAPI_UI_ASSETS}/swagger-ui.css`,
  // The plugin's default is relative ("openapi/json"), which the page also served at /openapi/
  // resolves to /openapi/openapi/json, a 404: "Failed to load API definition".
  url: `${OPENAPI_PATH}/json`,
  // Swagger UI would otherwise send the spec's URL to validator.swagger.io for a badge.
  validatorUrl: 'none',
};

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

function packageDir(): string {
  return path.dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir));
}

export function openapiUiRoutes() {
  const cache = new Map<string, Promise<Asset>>();
  const load = (name: string) => {
    let found = cache.get(name);
    if (found === undefined) {
      found = Bun.file(path.join(packageDir(), name))
        .bytes()
        .then((body) => ({ body, etag: `"${Bun.hash(body).toString(36)}"` }));
      // A failed read (a broken install) is tried again on the next request.
      found.catch(() => cache.delete(name));
      cache.set(name, found);
    }
    return found;
  };
  const app = new Elysia({ name: 'openapi-ui' });
  for (const docs of FASTAPI_DOCS_PATHS) {
    app.get(docs, () => new Response(null, { status: 302, headers: { location: OPENAPI_PATH } }), {
      detail: { hide: true },
    });
  }
  return app.get(
    `${OPENAPI_UI_ASSETS}/:file`,
    async ({ params, request }) => {
      const type = Object.hasOwn(FILES, params.file) ? FILES[params.file] : undefined;
      if (type === undefined) {
        throw new AppError('not_found', `no API reference file ${params.file}`);
      }
      const asset = await load(params.file);
      const headers = {
        'content-type': type,
        etag: asset.etag,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      };
      if (request.headers.get('if-none-match') === asset.etag) {
        return new Response(null, { status: 304, headers });
      }
      return new Response(asset.body, { headers });
    },
    { detail: { hide: true } },
  );
}
