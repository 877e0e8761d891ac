// README "Users, projects and keys": the answers its curl examples show in comments (`# {…}`)
// are the ones the routes give, field for field. The expected answers are read from the README
// itself, so an answer that gains, loses or renames a field, or a README edit that drifts,
// fails here. A value the README elides (`"…"`, or a string ending in `…`) is not compared.

import { afterEach, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { defaultAuthOptions, type RateSpec } from '../../src/auth/index.ts';
import { defaultPasswordHashLimits } from '../../src/auth/passwords.ts';
import { SESSIONS_PER_USER_MAX } from '../../src/auth/sessions.ts';
import { type AuthApp, json, makeAuthApp, makeKey, signUp } from '../auth/harness.ts';

const README = readFileSync(path.join(import.meta.dir, '..', '..', 'README.md'), 'utf8');

/** The section's ```sh lines, `\` continuations joined. */
function sectionLines(heading: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  const end = README.indexOf('\n### ', start + heading.length + 2);
  const text = README.slice(start, end);
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap(([, block = '']) =>
    block.replace(/\\\n\s*/g, ' ').split('\n'),
  );
}

/**
 * The answer a comment shows after the curl line that contains `anchor`: the `# {` line after
 * it and the `# ` lines continuing it, as JSON (an elided value is the string `"…"`).
 */
function shownAnswer(lines: string[], anchor: string): Record<string, unknown> {
  const at = lines.findIndex((l) => l.startsWith('curl ') && l.includes(anchor));
  if (at < 0) throw new Error(`no curl example with ${anchor}`);
  let first = at + 1;
  while (!(lines[first] ?? '').startsWith('# {')) first++;
  let text = '';
  for (let i = first; i < lines.length && (lines[i] ?? '').startsWith('# '); i++) {
    text += (lines[i] ?? '').slice(2).trim();
    if (JSON.stringify(tryParse(text)) !== undefined) break;
  }
  const parsed = tryParse(text);
  if (parsed === undefined) throw new Error(`the answer after ${anchor} is no JSON: ${text}`);
  return parsed;
}

function tryParse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The answer's fields are the README's; each value the README spells out is the answer's. */
function expectShown(actual: Record<string, unknown>, shown: Record<string, unknown>) {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(shown).sort());
  for (const [key, value] of Object.entries(shown)) {
    if (typeof value === 'string' && value.endsWith('…')) continue;
    // A generated id (`iv_c1FaIE6x46o_`) is a sample: the answer's has its prefix and length.
    if (typeof value === 'string' && /^[a-z]{2}_[A-Za-z0-9_-]{8,}$/.test(value)) {
      const id = String(actual[key]);
      expect([key, id.slice(0, 3), id.length]).toEqual([key, value.slice(0, 3), value.length]);
      continue;
    }
    expect([key, actual[key]]).toEqual([key, value]);
  }
}

const lines = sectionLines('### Users, projects and keys');
let t: AuthApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

test('the invitation, its acceptance, a role change and a retention change answer as shown', async () => {
  t = await makeAuthApp();
  const ana = await signUp(t, 'ana@example.com');
  const bo = await signUp(t, 'bo@example.com');
  const made = await t.call('POST', '/api/v1/projects', {
    token: ana.access_token,
    body: { id: 'acme', name: 'Acme' },
  });
  expect(made.status).toBe(201);

  const invited = await t.call('POST', '/api/v1/projects/acme/invitations', {
    token: ana.access_token,
    body: { email: 'bo@example.com', role: 'viewer' },
  });
  expect(invited.status).toBe(201);
  const invitation = await json(invited);
  const shownInvitation = shownAnswer(lines, '/api/v1/projects/acme/invitations -H');
  expectShown(invitation, shownInvitation);
  // The token starts with the invitation's id, as the sample shows.
  expect(String(shownInvitation.token)).toStartWith(String(shownInvitation.id));
  expect(String(invitation.token)).toStartWith(String(invitation.id));

  const accepted = await t.call('POST', '/api/v1/invitations/accept', {
    token: bo.access_token,
    body: { token: invitation.token },
  });
  expect(accepted.status).toBe(200);
  expectShown(await json(accepted), shownAnswer(lines, '/api/v1/invitations/accept'));

  const owner = await t.call('POST', '/api/v1/projects/acme/members', {
    token: ana.access_token,
    body: { email: 'bo@example.com', role: 'owner' },
  });
  expect(owner.status).toBe(201);
  expectShown(await json(owner), shownAnswer(lines, '/api/v1/projects/acme/members -H'));

  const kept = await t.call('PATCH', '/api/v1/projects/acme', {
    token: ana.access_token,
    body: { retention_days: 90 },
  });
  expect(kept.status).toBe(200);
  expectShown(await json(kept), shownAnswer(lines, '-X PATCH'));
});

test("an erasure of user-42's 12 unflushed events answers as shown", async () => {
  t = await makeAuthApp();
  const ana = await signUp(t, 'ana@example.com');
  await t.call('POST', '/api/v1/projects', {
    token: ana.access_token,
    body: { id: 'acme', name: 'Acme' },
  });
  const write = await makeKey(t, ana.access_token, 'acme', 'write');
  const events = Array.from({ length: 12 }, () => ({
    tenant_id: 'acme',
    name: 'x',
    user_id: 'user-42',
  }));
  const sent = await t.call('POST', '/api/v1/events/batch', { token: write.key, body: { events } });
  expect(sent.status).toBe(202);
  const erased = await t.call('POST', '/api/v1/projects/acme/erasures', {
    token: ana.access_token,
    body: { user_id: 'user-42' },
  });
  expect(erased.status).toBe(202);
  expectShown(await json(erased), shownAnswer(lines, '-d \'{"user_id":"user-42"}\''));
});

test('deleting the account of the only owner of a project is the 409 shown', async () => {
  t = await makeAuthApp();
  const ana = await signUp(t, 'ana@example.com');
  await t.call('POST', '/api/v1/projects', {
    token: ana.access_token,
    body: { id: 'acme', name: 'Acme' },
  });
  const res = await t.call('DELETE', '/api/v1/users/me', { token: ana.access_token });
  expect(res.status).toBe(409);
  expect(await json(res)).toEqual(
    shownAnswer(lines, '-X DELETE http://127.0.0.1:8080/api/v1/users/me'),
  );
});

// The section's numbers for limits no setting changes (or whose route tests run tighter ones),
// each phrase as the section writes it (line breaks as spaces), each value the code's default.
test("the section's fixed limits are the code's defaults", () => {
  const start = README.indexOf('\n### Users, projects and keys\n');
  const text = README.slice(start, README.indexOf('\n### ', start + 5)).replace(/\s+/g, ' ');
  const r = defaultAuthOptions.rates;
  const hashes = defaultPasswordHashLimits;
  const perMinute = (spec: RateSpec) => spec.perSecond * 60;
  const members = r.memberAdd;
  const strict = r.passwordCheckUserIp;
  const loose = r.passwordCheckUser;
  const total = r.loginEmailTotal;
  const phrases = [
    `At most ${members.burst} invitations and role changes an hour per caller (429 beyond)`,
    `(a fixed ${members.burst} calls an hour, refused ones included)`,
    `per user at one address (${strict.burst} at once, then one every ` +
      `${1 / strict.perSecond} s)`,
    `(a fixed ${strict.burst} at once, then one every ${1 / strict.perSecond} s)`,
    `per user from all addresses (${loose.burst}, then ${perMinute(loose)} a minute)`,
    `the user's loose total (${loose.burst}, then ${perMinute(loose)} a minute)`,
    `per email from all addresses together (${total.burst} at once, then ` +
      `${perMinute(total)} a minute`,
    `at most ${r.refreshUser.burst} at once, then one a minute, per user`,
    `a user keeps ${SESSIONS_PER_USER_MAX} (\`SESSIONS_PER_USER_MAX\``,
    `while ${hashes.runningMax + hashes.waitingMax} password checks are running or waiting`,
    `one hash runs at a time and ${hashes.waitingMax} wait`,
    `argon2id (\`Bun.password\`): about ${defaultAuthOptions.passwordCost.memoryCost / 1024} MiB`,
    `expires after \`INVITATION_TTL\` (${defaultAuthOptions.invitationTtlMs / 86_400_000} days)`,
  ];
  expect(phrases.filter((phrase) => !text.includes(phrase))).toEqual([]);
  // "an hour", "then one a minute", "one at a time": the refills the phrases name.
  expect(members.perSecond).toBe(members.burst / 3600);
  expect(perMinute(r.refreshUser)).toBe(1);
  expect(hashes.runningMax).toBe(1);
});
