// Numbered schema migrations, applied in order (the index + 1 is the schema version).

import type { Database } from 'bun:sqlite';
import { migration001 } from './001-catalog.ts';
import { migration002 } from './002-auth.ts';
import { migration003 } from './003-minute-counts.ts';
import { migration004 } from './004-minute-counts-before-1970.ts';
import { migration005 } from './005-tenant-tombstones.ts';
import { migration006 } from './006-project-invitations.ts';
import { migration007 } from './007-invitations-follow-inviter.ts';
import { migration008 } from './008-emails-in-nfc.ts';
import { migration009 } from './009-segment-format.ts';
import { migration010 } from './010-project-retention.ts';
import { migration011 } from './011-erasures.ts';
import { migration012 } from './012-damaged-copy-cuts.ts';
import { migration013 } from './013-erasure-copy-cuts.ts';

export const migrations: readonly ((db: Database) => void)[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
  migration006,
  migration007,
  migration008,
  migration009,
  migration010,
  migration011,
  migration012,
  migration013,
];
