// First start in AUTH_MODE=required with no admin: creates an admin and the `default` project
// (or takes over an existing one: its owners become viewers) with one write and one read key,
// writes them to DATA_DIR/bootstrap.json (mode 0600) and hands them to main.ts to print once.
// Users who registered while the store ran in AUTH_MODE=open do not count: they are not
// admins, and without one nobody could close registration or claim a tenant that holds
// events. Later starts find the admin and do nothing.

import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AppError, DEFAULT_TENANT } from '../core/index.ts';
import type { Auth } from './auth.ts';
import { randomPassword } from './secrets.ts';
import { canonicalEmail } from './validate.ts';

const BOOTSTRAP_FILE = 'bootstrap.json';
const DEFAULT_ADMIN_EMAIL = 'admin@tally.local';

export interface BootstrapOptions {
  dataDir: string;
  adminEmail?: string;
}

export interface BootstrapResult {
  adminEmail: string;
  adminPassword: string;
  projectId: string;
  writeKey: string;
  readKey: string;
  /** Where the same secrets were written (mode 0600). */
  file: string;
  /**
   * Set when `default` existed before (made while there was no admin) and the admin took it
   * over: the emails of its other members, who keep reading it as viewers, and how many keys
   * made before stay live. The banner names them, so the admin knows what to review.
   */
  takenOver: { members: string[]; liveKeys: number } | null;
}

/**
 * Creates the admin, project and keys when the store has no admin yet; null otherwise. The
 * tests' one-call bootstrap: main.ts runs its two halves apart (prepare, then commit).
 */
export async function bootstrapAuth(
  auth: Auth,
  options: BootstrapOptions,
): Promise<BootstrapResult | null> {
  const prepared = await prepareBootstrap(auth, options);
  return prepared === null ? null : commitBootstrap(auth, prepared);
}

/** What `commitBootstrap` needs: the checks passed and the admin password hashed. */
export interface PreparedBootstrap {
  adminEmail: string;
  adminPassword: string;
  passwordHash: string;
  file: string;
}

/**
 * The slow half of the bootstrap (the password hash), with its checks; null when there is an
 * admin already. main.ts runs it before listening and `commitBootstrap` once the server
 * listens, in the same turn of the event loop: no request runs in between, and no secret is
 * written or shown by a start that then cannot listen.
 */
export async function prepareBootstrap(
  auth: Auth,
  options: BootstrapOptions,
): Promise<PreparedBootstrap | null> {
  const { users } = auth.stores;
  if (users.adminCount() > 0) return null;
  const adminEmail = canonicalEmail(options.adminEmail ?? DEFAULT_ADMIN_EMAIL);
  // Never promote an account someone registered: whoever did may not be the operator.
  if (users.withHashByEmail(adminEmail) !== null) throw adminEmailTaken(adminEmail);
  const adminPassword = randomPassword();
  const passwordHash = await auth.hasher.hash(adminPassword);
  const file = path.join(options.dataDir, BOOTSTRAP_FILE);
  return { adminEmail, adminPassword, passwordHash, file };
}

/** Creates the prepared admin, project and keys and writes the file; null if an admin exists. */
export function commitBootstrap(auth: Auth, prepared: PreparedBootstrap): BootstrapResult | null {
  const { users, projects, keys } = auth.stores;
  const { adminEmail, adminPassword, passwordHash, file } = prepared;
  // Registered since `prepareBootstrap` (when something awaited in between): refused the same.
  if (users.adminCount() === 0 && users.withHashByEmail(adminEmail) !== null) {
    throw adminEmailTaken(adminEmail);
  }
  const now = auth.clock.now();
  // One transaction: if writing the file fails, nothing is created and the next start retries.
  return auth.transaction(() => {
    if (users.adminCount() > 0) return null;
    const admin = users.create({
      email: adminEmail,
      name: 'Admin',
      passwordHash,
      isAdmin: true,
      now,
    });
    let takenOver: BootstrapResult['takenOver'] = null;
    if (projects.get(DEFAULT_TENANT) === null) {
      projects.create(DEFAULT_TENANT, 'Default', admin.id, now);
    } else {
      // Someone made `default` while there was no admin: the admin takes it over, and its
      // owners stay as viewers (they would otherwise see the bootstrap keys and could remove
      // the admin). Keys they made stay too, listed for the admin to review.
      projects.setMember(DEFAULT_TENANT, admin.id, 'owner', now);
      for (const member of projects.members(DEFAULT_TENANT)) {
        if (member.role === 'owner' && member.userId !== admin.id) {
          projects.setMember(DEFAULT_TENANT, member.userId, 'viewer', now);
        }
      }
      const members = projects.members(DEFAULT_TENANT).filter((m) => m.userId !== admin.id);
      const liveKeys = keys.activeCount(DEFAULT_TENANT);
      takenOver = { members: members.map((m) => m.email), liveKeys };
    }
    const common = { projectId: DEFAULT_TENANT, allowedOrigins: null, now };
    const write = keys.create({ ...common, kind: 'write', name: 'bootstrap write key' });
    const read = keys.create({ ...common, kind: 'read', name: 'bootstrap read key' });
    const result: BootstrapResult = {
      adminEmail,
      adminPassword,
      projectId: DEFAULT_TENANT,
      writeKey: write.key,
      readKey: read.key,
      file,
      takenOver,
    };
    writeSecretFile(file, result, now);
    return result;
  });
}

function adminEmailTaken(email: string): AppError {
  return new AppError(
    'conflict',
    `the store has no admin, and the bootstrap admin email ${email} belongs to a user who ` +
      'is not one; set BOOTSTRAP_ADMIN_EMAIL to an unused address and start again',
  );
}

/** The text main.ts prints once on the terminal (never through the JSON logger). */
export function formatBootstrapBanner(result: BootstrapResult): string {
  return [
    '',
    '  Tally created its first admin and project (AUTH_MODE=required).',
    '  These secrets are shown once; they are also in the file below (mode 0600).',
    '',
    `    admin email     ${result.adminEmail}`,
    `    admin password  ${result.adminPassword}`,
    `    project         ${result.projectId}`,
    `    write key       ${result.writeKey}`,
    `    read key        ${result.readKey}`,
    `    file            ${result.file}`,
    '',
    '  Sign in at POST /api/v1/auth/login, change the password (PUT /api/v1/users/me),',
    '  then delete the file.',
    '',
    ...takeoverLines(result.takenOver),
  ].join('\n');
}

/** Members named in the banner's takeover warning; the rest are counted. */
const TAKEOVER_MEMBERS_NAMED_MAX = 10;

/** The banner's warning when `default` was taken over: who and what still reads it. */
function takeoverLines(takenOver: BootstrapResult['takenOver']): string[] {
  if (takenOver === null) return [];
  const { members, liveKeys } = takenOver;
  const named = members.slice(0, TAKEOVER_MEMBERS_NAMED_MAX).join(', ');
  const more = members.length - TAKEOVER_MEMBERS_NAMED_MAX;
  const who =
    members.length === 0 ? 'no other member' : more > 0 ? `${named} and ${more} more` : named;
  const keys =
    liveKeys === 1
      ? '1 key made before it stays live'
      : `${liveKeys} keys made before it stay live`;
  return [
    '  WARNING: the project default existed before this start (made while there was no',
    '  admin); you own it now, but these members keep reading it as viewers:',
    `    ${who}`,
    `  and ${keys}. Review them (GET /api/v1/projects/default/members and`,
    '  GET /api/v1/projects/default/keys) and remove or revoke what you do not know.',
    '',
  ];
}

function writeSecretFile(file: string, result: BootstrapResult, now: number): void {
  const body = {
    created_at: new Date(now).toISOString(),
    admin_email: result.adminEmail,
    admin_password: result.adminPassword,
    project: result.projectId,
    write_key: result.writeKey,
    read_key: result.readKey,
  };
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600); // the mode above is masked by umask and ignored for existing files
  renameSync(temp, file);
}
