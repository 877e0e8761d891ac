// Which methods a path answers to, from the app's own route table: a request whose path exists
// under other methods gets 405 with `Allow` (as FastAPI answers the seed services' clients),
// not 404. A WebSocket route answers GET, but only a GET that asks for the upgrade. Built once,
// on the first miss, after every route is registered.

interface RouteEntry {
  method: string;
  path: string;
}

interface PathPattern {
  pattern: RegExp;
  methods: Set<string>;
}

/** `:name` matches one segment, `*` the rest; a trailing slash is ignored on both sides. */
function patternOf(path: string): RegExp {
  const body = trimSlash(path)
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${body}$`);
}

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

export class AllowedMethods {
  private patterns: PathPattern[] | null = null;

  /** `routes()`: the app's route table, read on first use. */
  constructor(private readonly routes: () => readonly RouteEntry[]) {}

  /**
   * The methods `path` answers to, sorted; empty when no route has it. HEAD comes with a plain
   * GET route, not with a WebSocket one (a HEAD cannot upgrade).
   */
  of(path: string): string[] {
    const methods = this.routeMethodsOf(path);
    if (methods.has('GET')) methods.add('HEAD');
    if (methods.delete('WS')) methods.add('GET');
    return [...methods].sort();
  }

  /** Whether a GET of `path` is answered only when it asks for a WebSocket upgrade. */
  upgradeOnly(path: string): boolean {
    const methods = this.routeMethodsOf(path);
    return methods.has('WS') && !methods.has('GET');
  }

  /** The methods of the routes matching `path`, a WebSocket route as `WS`. */
  private routeMethodsOf(path: string): Set<string> {
    const target = trimSlash(path);
    const methods = new Set<string>();
    for (const p of this.table()) {
      if (p.pattern.test(target)) for (const m of p.methods) methods.add(m);
    }
    return methods;
  }

  private table(): PathPattern[] {
    if (this.patterns !== null) return this.patterns;
    const byPath = new Map<string, PathPattern>();
    for (const route of this.routes()) {
      const method = route.method.toUpperCase();
      if (method === 'ALL') continue;
      const key = trimSlash(route.path);
      const entry = byPath.get(key) ?? { pattern: patternOf(key), methods: new Set<string>() };
      entry.methods.add(method);
      byPath.set(key, entry);
    }
    this.patterns = [...byPath.values()];
    return this.patterns;
  }
}
