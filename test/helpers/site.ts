// A local web site for the browser suites, on 127.0.0.1: an SDK's script from memory at one
// path, a small "/bye" page (somewhere to navigate to, so a page-hide beacon fires), and the
// test page at every other path (so client-side routes load it too). No CDN is involved.

export type Site = ReturnType<typeof Bun.serve>;

const BYE = '<!doctype html><title>Bye</title>';

export function serveSite(options: { scriptPath: string; script: string; html: string }): Site {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === options.scriptPath) {
        return new Response(options.script, { headers: { 'content-type': 'text/javascript' } });
      }
      const body = pathname === '/bye' ? BYE : options.html;
      return new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8' } });
    },
  });
}
