// One request through the middleware's own decision path, in process: the adapter every
// framework shares (`httpAuthentication().decide`: client X-Ntlm-* headers stripped, the client
// address, the Authorization header, the authenticator, its mechanisms and verifier), then the
// status the middleware would answer (`refusalResponse`), or `pass` attaching the identity.
// Only Node's HTTP parser and the socket write are left out: they are not ours, and skipping
// them makes a million inputs take minutes, not hours.
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { type HttpAuthentication, httpAuthentication } from '../../src/http/adapter.js';
import { refusalResponse } from '../../src/http/decision-response.js';
import type { Decision } from '../../src/session/authenticator.js';
import type { NtlmOptions } from '../../src/types.js';

/** What one request got: an HTTP status, or a crash (anything thrown) or a hang (no answer in time). */
export interface Answer {
  readonly status: number | 'crash' | 'hang';
  /** The error code of a refusal, or the crash's message. */
  readonly code?: string | undefined;
  /** The refusal's reason (the log line's), for a 5xx. */
  readonly reason?: string | undefined;
  readonly decision?: Decision | undefined;
}

const NO_HEADERS = { get: () => undefined, set() {}, append() {} };

export class Target {
  readonly auth: HttpAuthentication;

  constructor(
    options: NtlmOptions,
    private readonly timeoutMs: number,
  ) {
    this.auth = httpAuthentication(options);
  }

  /** A connection of its own (close it with `socket.destroy()`: its pending handshake goes with it). */
  connection(): Socket {
    return new Socket();
  }

  async send(socket: Socket, headers: { authorization?: string; cookie?: string }): Promise<Answer> {
    const req = new IncomingMessage(socket);
    req.headers = { host: 'localhost', 'x-ntlm-username': 'mallory', ...headers };
    req.rawHeaders = Object.entries(req.headers).flat() as string[];
    let decided: Decision | Promise<Decision>;
    try {
      decided = this.auth.decide(req);
    } catch (error) {
      return crash(error);
    }
    let decision: Decision;
    if ('then' in decided) {
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<'hang'>((resolve) => {
        timer = setTimeout(() => resolve('hang'), this.timeoutMs);
      });
      try {
        const settled = await Promise.race([decided, hang]);
        if (settled === 'hang') return { status: 'hang' };
        decision = settled;
      } catch (error) {
        return crash(error);
      } finally {
        clearTimeout(timer);
      }
    } else decision = decided;
    try {
      if (decision.kind === 'pass') {
        this.auth.pass(decision, req, NO_HEADERS);
        if (req.headers['x-ntlm-username'] !== decision.info.remoteUser)
          throw new Error('identity header not ours');
        return { status: 200, decision };
      }
      if (decision.kind === 'next') return { status: 200, decision };
      const { status } = refusalResponse(decision);
      const error = decision.kind === 'fail' ? decision.error : undefined;
      const reason = status >= 500 ? error?.message : undefined;
      return { status, code: error?.code, reason, decision };
    } catch (error) {
      return crash(error);
    }
  }

  close(): Promise<void> {
    return this.auth.close();
  }
}

function crash(error: unknown): Answer {
  return { status: 'crash', code: (error as Error)?.stack ?? String(error) };
}
