import { afterAll, expect, test } from 'bun:test';
import { runCrashRounds } from '../helpers/crash-rounds.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const ROUNDS = 10;
const temp = makeTempDir('tally-crash-');
afterAll(() => temp.remove());

test(`kill -9 at random moments loses no acknowledged event and doubles none (${ROUNDS} rounds)`, async () => {
  const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  try {
    const { acked } = await runCrashRounds({
      rounds: ROUNDS,
      seed,
      clients: 32,
      dataDir: temp.dir,
    });
    expect(acked).toBeGreaterThan(0);
  } catch (error) {
    throw new Error(`crash test failed with CRASH_SEED=${seed}: ${(error as Error).message}`);
  }
}, 120_000);

test('with DURABILITY=os a process crash (kill -9) loses no acknowledged event either', async () => {
  const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const os = makeTempDir('tally-crash-os-');
  try {
    const { acked } = await runCrashRounds({
      rounds: 3,
      seed,
      clients: 16,
      dataDir: os.dir,
      env: { DURABILITY: 'os' },
    });
    expect(acked).toBeGreaterThan(0);
  } catch (error) {
    throw new Error(`crash test failed with CRASH_SEED=${seed}: ${(error as Error).message}`);
  } finally {
    os.remove();
  }
}, 120_000);
