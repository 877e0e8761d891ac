// A stand-in for the required-mode resolver, enough to see what the compatibility routes hand
// it: a write key maps to its project (`wk_acme` → `acme`), and without a key only registered
// site aliases are accepted (403 otherwise), as auth/'s resolver does.

import { AppError, type TenantResolver } from '../../../src/core/index.ts';

export interface KeyTenancy extends TenantResolver {
  /** The SDK-specific key of each ingest request, in order (null when none was found). */
  keys: (string | null)[];
}

export function keyTenancy(aliases: Record<string, string>): KeyTenancy {
  const keys: (string | null)[] = [];
  return {
    keys,
    forIngest(_request, credentials) {
      const key = credentials?.key ?? null;
      keys.push(key);
      if (key !== null) {
        if (!key.startsWith('wk_')) throw new AppError('unauthorized', 'unknown write key');
        const project = key.slice(3);
        return (claimed) => {
          if (claimed === undefined || claimed === project || aliases[claimed] === project) {
            return project;
          }
          throw new AppError('forbidden', `this write key writes to ${project}, not ${claimed}`);
        };
      }
      return (claimed) => {
        if (claimed === undefined) throw new AppError('unauthorized', 'ingest needs a write key');
        const project = aliases[claimed];
        if (project === undefined) {
          throw new AppError('forbidden', `${claimed} is not a registered site alias`);
        }
        return project;
      };
    },
    forRead: (_request, query) => query.tenant_id ?? 'default',
  };
}
