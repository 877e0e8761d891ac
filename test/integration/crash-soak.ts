// The crash test at soak length: `bun run crash:soak [rounds] [seed]` (default 200 rounds).

import { runCrashRounds } from '../helpers/crash-rounds.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const rounds = Number(process.argv[2] ?? 200);
const seed = Number(
  process.argv[3] ?? process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31),
);
const temp = makeTempDir('tally-soak-');
console.log(`crash soak: ${rounds} rounds, CRASH_SEED=${seed}, data in ${temp.dir}`);
try {
  const { acked } = await runCrashRounds({
    rounds,
    seed,
    clients: 32,
    dataDir: temp.dir,
    log: console.log,
  });
  console.log(`ok: ${acked} acknowledged events, all stored exactly once`);
  temp.remove();
} catch (error) {
  console.error(
    `FAILED with CRASH_SEED=${seed}: ${(error as Error).message} (data kept in ${temp.dir})`,
  );
  process.exit(1);
}
