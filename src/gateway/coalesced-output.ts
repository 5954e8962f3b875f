/** Where coalesced lines go: process.stdout, or a test's stand-in. */
export interface ChunkOutput {
  write(chunk: Uint8Array): unknown;
}

export interface CoalescingOptions {
  /** Least time between two writes of routine lines (ms). */
  readonly gapMs?: number;
  /** The clock (ms), for tests. */
  readonly now?: () => number;
}

/**
 * Least time between two writes of routine lines. Under load, lines for 5 ms go out in one
 * write (the access log wrote at the end of every event-loop turn, about one request each: a
 * write system call per request, 8.9% of the gateway's CPU profile); at rest a line still
 * goes out at the end of its turn, as it did.
 */
export const WRITE_GAP_MS = 5;

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
 * turn, but not sooner than `gapMs` after the last write, and at exit. Other lines (warnings,
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
  const gapMs = options.gapMs ?? WRITE_GAP_MS;
  const now = options.now ?? (() => performance.now());
  let pending = '';
  let scheduled = false;
  let lastWrite = Number.NEGATIVE_INFINITY;
  const flush = () => {
    scheduled = false;
    unwritten.delete(flush);
    const text = pending;
    pending = '';
    if (!text) return;
    lastWrite = now();
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
      const wait = lastWrite + gapMs - now();
      if (wait <= 0) setImmediate(flush);
      // Unref'd: a process with nothing else to do exits, and the exit hook writes what is left.
      else setTimeout(flush, wait).unref();
    },
  };
}
