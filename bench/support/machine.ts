// What the benchmark ran on, printed with every result so numbers are never read without it:
// cores, CPU model, memory, kernel, and the versions of bun and wrk.

import * as fs from 'node:fs';
import * as os from 'node:os';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  bun: string;
  wrk: string;
}

export function describeMachine(wrkVersion: string): Machine {
  const cpuinfo = readOr('/proc/cpuinfo');
  const meminfo = readOr('/proc/meminfo');
  const memKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1] ?? Number.NaN);
  return {
    cores: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? '?',
    memoryGiB: Math.round((memKiB / 1024 / 1024) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    bun: Bun.version,
    wrk: wrkVersion,
  };
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
