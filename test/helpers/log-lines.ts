// The gateway's log off a terminal: one JSON object per line (pino). Lines that are not JSON
// (a child's stray output) are skipped.

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export function jsonLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of output.split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // not a log line
    }
  }
  return lines;
}

/** The log lines whose message is `msg`. */
export function linesWith(output: string, msg: string): LogLine[] {
  return jsonLines(output).filter((line) => line.msg === msg);
}
