// Password checks at the default cost (`bun run bench:password-hash`): how long one argon2id
// hash and one verify take through src/auth's PasswordHasher (defaultPasswordCost: 64 MiB, 2
// iterations; one at a time, defaultPasswordHashLimits), each alone (`--runs` of each), and
// how many verifies a second get through when `--burst` logins ask at once (they queue for the
// one place): README's "~0.1 s each" and "about 10 logins a second".

import { parseArgs } from 'node:util';
import { defaultPasswordCost, PasswordHasher } from '../src/auth/passwords.ts';
import { describeMachine } from './support/machine.ts';
import { median } from './support/median.ts';
import { formatFixed } from './support/table.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    burst: { type: 'string', default: '30' },
  },
});
const runs = Number(values.runs);
const burst = Number(values.burst);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs=${values.runs}`);
// The 33rd asking while 32 wait is refused (defaultPasswordHashLimits).
if (!Number.isInteger(burst) || burst < 1 || burst > 33) throw new Error(`--burst: 1–33`);

const hasher = new PasswordHasher(defaultPasswordCost);
const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

const hash = await hasher.hash('correct horse battery staple'); // warms the path up too
const hashMs: number[] = [];
const verifyMs: number[] = [];
const unknownMs: number[] = [];
for (let i = 0; i < runs; i++) {
  hashMs.push(await timed(() => hasher.hash(`password ${i}`)));
  verifyMs.push(await timed(() => hasher.verify('correct horse battery staple', hash)));
  unknownMs.push(await timed(() => hasher.verify('a guess', null))); // an unknown email's dummy
}
const burstMs = await timed(() =>
  Promise.all(Array.from({ length: burst }, () => hasher.verify('a guess', hash))),
);

const m = describeMachine('-');
console.log(`${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}, bun ${m.bun}`);
const row = (name: string, ms: number[]) =>
  `${name.padEnd(22)} ${formatFixed(Math.min(...ms), 0)} / ${formatFixed(median(ms), 0)} / ` +
  `${formatFixed(Math.max(...ms), 0)} ms (min / median / max of ${ms.length})`;
console.log(row('hash', hashMs));
console.log(row('verify', verifyMs));
console.log(row('verify, unknown email', unknownMs));
console.log(
  `${burst} verifies at once    ${formatFixed(burstMs / 1000, 2)} s: ` +
    `${formatFixed((burst * 1000) / burstMs, 1)} a second`,
);
