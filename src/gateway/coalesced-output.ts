/** Where coalesced lines go: process.stdout, or a test's stand-in. */
export interface ChunkOutput {
  write(chunk: Uint8Array): unknown;
}

export interface CoalescingOptions {
  /** The window (ms) of `WRITES_PER_WINDOW` writes at the end of their turn. */
  readonly windowMs?: number;
  /** The clock (ms), for tests. */
  readonly now?: () => number;
}

/**
 * The window in which routine lines may be written `WRITES_PER_WINDOW` times at the end of their
 * event-loop turn; later ones wait for its end and go out together. Under load that is a few
 * writes per 5 ms (two, then the window's other lines in chunks of ≤ 4 KB), not one per turn (up
 * to one per request: a write system call of ~1.2 µs each and a wake-up of the reader;
 * bench/analysis.md paragraph 7). At rest, and for a logon's
 * two or three lines, a line still goes out at the end of its turn, so someone who got a response
 * finds its lines written.
 */
export const WRITE_WINDOW_MS = 5;
export const WRITES_PER_WINDOW = 2;

/**
 * A pipe takes a write of at most PIPE_BUF (4096 on Linux) bytes whole: chunks of whole lines
 * within it keep the lines of `--workers` (one stdout pipe for all) from cutting into each other.
 */
const ATOMIC_WRITE = 4096;
const NEWLINE = 0x0a;

/** What coalescing outputs still hold; written when the process exits (pipes and files are synchronous then). */
const unwritten = new Set<() => void>();
let exitHooked = false;

function writeInWholeLines(output: ChunkOutput, text: string): void {
  const bytes = Buffer.from(text);
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.length;
    if (end - start > ATOMIC_WRITE) {
      const lastNewline = bytes.lastIndexOf(NEWLINE, start + ATOMIC_WRITE - 1);
      // One line longer than a pipe takes whole goes out alone.
      end = lastNewline >= start ? lastNewline + 1 : bytes.indexOf(NEWLINE, start) + 1 || bytes.length;
    }
    output.write(bytes.subarray(start, end));
    start = end;
  }
}

/**
 * `output` with routine lines (`routine(text)`) written together: at the end of the event-loop
 * turn, or, after two writes in the last `windowMs`, at the window's end; and at exit. Other lines (warnings,
 * errors) go out at once, after what is pending: someone may be reading them as the response
 * that caused them arrives. Writes stay synchronous, so nothing is in flight when the process
 * exits (SIGTERM's path ends in process.exit) and a slow reader holds the gateway back as
 * process.stdout always did, rather than letting memory grow.
 */
export function coalescing(
  output: ChunkOutput,
  routine: (text: string) => boolean,
  options: CoalescingOptions = {},
): { write(text: string): void } {
  const windowMs = options.windowMs ?? WRITE_WINDOW_MS;
  const now = options.now ?? (() => performance.now());
  let pending = '';
  let scheduled = false;
  let windowStart = Number.NEGATIVE_INFINITY;
  let writesInWindow = 0;
  const flush = () => {
    scheduled = false;
    unwritten.delete(flush);
    const text = pending;
    pending = '';
    if (!text) return;
    const time = now();
    if (time - windowStart >= windowMs) {
      windowStart = time;
      writesInWindow = 0;
    }
    writesInWindow++;
    writeInWholeLines(output, text);
  };
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const pendingFlush of [...unwritten]) pendingFlush();
    });
  }
  return {
    write(text: string) {
      pending += text;
      if (!routine(text)) return flush();
      if (scheduled) return;
      scheduled = true;
      unwritten.add(flush);
      const wait = writesInWindow < WRITES_PER_WINDOW ? 0 : windowStart + windowMs - now();
      if (wait <= 0) setImmediate(flush);
      // Unref'd: a process with nothing else to do exits, and the exit hook writes what is left.
      else setTimeout(flush, wait).unref();
    },
  };
}
