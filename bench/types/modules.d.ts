// The two load and comparison packages the bench uses have no types of their own; these are the
// parts of their APIs the bench calls.
declare module 'express-ntlm' {
  import type { RequestHandler } from 'express';

  interface ExpressNtlmOptions {
    domain?: string;
    domaincontroller?: string | string[];
    debug?: (...args: unknown[]) => void;
  }
  export default function expressNtlm(options?: ExpressNtlmOptions): RequestHandler;
}

declare module 'autocannon' {
  interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    headers?: Record<string, string>;
    pipelining?: number;
  }
  interface AutocannonResult {
    '2xx': number;
    non2xx: number;
    errors: number;
    timeouts: number;
    duration: number;
    requests: { average: number; total: number };
  }
  export default function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
}
