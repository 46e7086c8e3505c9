import { readdirSync, readFileSync } from 'node:fs';

// What the kernel says a process costs: peak memory and CPU time, from /proc.

/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const TICKS_PER_SECOND = 100;

export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** utime + stime of a process, in ticks; fields 14 and 15 of /proc/<pid>/stat, counted after the command name. */
function cpuTicks(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * CPU ticks of each PostgreSQL backend connected to the bench database. Only those: other work on
 * the same server (this machine is shared) would otherwise count as ours. Backends live as long as
 * the pool that opened them, so they span the whole scenario.
 */
function backendTicks(database: string | undefined): Map<string, number> {
  const ticks = new Map<string, number>();
  if (database === undefined) return ticks;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(` ${database} `)) continue;
      ticks.set(pid, cpuTicks(pid));
    } catch {
      // The process ended while we looked.
    }
  }
  return ticks;
}

/**
 * Starts counting CPU; the returned function gives µs per request of the process (this one when
 * `pid` is undefined) and, when `postgresDatabase` names one, of its PostgreSQL backends.
 */
export function cpuMeter(postgresDatabase: string | undefined, pid: number | undefined) {
  const self = process.cpuUsage();
  const node = pid === undefined ? 0 : cpuTicks(pid);
  const backends = backendTicks(postgresDatabase);
  return (requests: number) => {
    const own = process.cpuUsage(self);
    const nodeUs = pid === undefined ? own.user + own.system : ((cpuTicks(pid) - node) * 1e6) / TICKS_PER_SECOND;
    let dbTicks = 0;
    for (const [backend, now] of backendTicks(postgresDatabase)) dbTicks += now - (backends.get(backend) ?? 0);
    const per = (us: number) => (requests > 0 ? us / requests : 0);
    return {
      nodeCpuUs: per(nodeUs),
      ...(postgresDatabase !== undefined && { dbCpuUs: per((dbTicks * 1e6) / TICKS_PER_SECOND) }),
    };
  };
}
