// CPU time of processes, from /proc: how many CPU-milliseconds one request or one logon costs
// each party (our server, the DC, the load generator). On a 2-core machine shared by all of
// them, that is what bounds a rate, and it is less noisy than the rate itself.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { DC_DIR } from '../../test/helpers/samba.js';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of one process, and its parent's pid (fields 4, 14 and 15 of /proc/PID/stat). */
function stat(pid: number): { cpuMs: number; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing paren.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

export function processCpuMs(pid: number): number {
  return stat(pid)?.cpuMs ?? 0;
}

/** CPU-µs per answered request of process `pid` since `beforeMs` (its processCpuMs then). */
export function cpuUsPerRequest(pid: number, beforeMs: number, answered: number): number {
  return ((processCpuMs(pid) - beforeMs) * 1000) / Math.max(1, answered);
}

/** CPU time of the Samba DC: its main process and every descendant (the LDAP workers). */
export function dcCpuMs(): number {
  const root = Number(readFileSync(`${DC_DIR}/run/samba.main.pid`, 'utf8').trim());
  const all = new Map<number, { cpuMs: number; ppid: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = stat(Number(name));
    if (entry) all.set(Number(name), entry);
  }
  let total = 0;
  for (const [pid, entry] of all) {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = all.get(at)?.ppid) {
      if (at === root) {
        total += entry.cpuMs;
        break;
      }
    }
  }
  return total;
}

/** This process's CPU time (the load generator). */
export function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
