// The fuzz's weights and its summary as text.
import { decodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { decodeNtlmV2Response } from '../../src/ntlm/ntlmv2-response.js';
import type { FuzzSummary } from './harness.js';

/** The names an NTLM AUTHENTICATE input carries, escaped, when it decodes: what a DC choked on. */
function describeInput(input: string): string[] {
  const match = /^NTLM ([A-Za-z0-9+/=]+)$/.exec(input);
  if (!match) return [];
  try {
    const message = decodeAuthenticate(Buffer.from(match[1]!, 'base64'));
    const { user, domain, workstation, flags, lmChallengeResponse, ntChallengeResponse } = message;
    const names = JSON.stringify({ user, domain, workstation }).replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    let pairs = 'no NTLMv2 blob';
    try {
      const blob = decodeNtlmV2Response(ntChallengeResponse);
      pairs = `blob AV pairs ${blob.avPairs
        .map((pair) => `${pair.id}:${pair.value.length}`)
        .join(' ')}, client challenge ${blob.clientChallenge.length} bytes`;
    } catch (error) {
      pairs = `blob: ${(error as Error).message}`;
    }
    return [
      `  names: ${names}; flags 0x${(flags >>> 0).toString(16)}; LM ${lmChallengeResponse.length} bytes, NT ${ntChallengeResponse.length} bytes; ${pairs}`,
    ];
  } catch {
    return [];
  }
}

/**
 * Shares of a run per family. Netlogon is the smallest: each of its logons is a real call to the
 * Samba DC (about 5 ms), where the others cost tens of microseconds in process.
 */
export const WEIGHTS: Record<string, number> = {
  'ntlm-negotiate': 10,
  'ntlm-authenticate': 24,
  'spnego-ntlm': 10,
  kerberos: 16,
  pac: 10,
  bearer: 12,
  ndr: 12,
  netlogon: 6,
};

const number = (n: number) => n.toLocaleString('en');

/** `NTLM <base64>` as `NTLM hex:<token in hex>`; other inputs as they are. */
function asHex(input: string): string {
  const match = /^(NTLM|Negotiate) ([A-Za-z0-9+/]+={0,2})$/.exec(input);
  return match ? `${match[1]} hex:${Buffer.from(match[2]!, 'base64').toString('hex')}` : input;
}

const clip = (text: string, verbose: boolean) =>
  text.length > 1500 && !verbose
    ? `${text.slice(0, 1500)}... (${text.length} chars; all of it with --json)`
    : text;

export function formatSummary(
  summary: FuzzSummary,
  dcCalls: { answered: number; down: number },
  verbose = false,
): string {
  const lines = [
    `seed ${summary.seed}: ${number(summary.inputs)} inputs in ${summary.seconds.toFixed(1)} s (${number(Math.round(summary.inputs / summary.seconds))}/s)`,
    `crashes ${summary.crashes}, hangs ${summary.hangs}, 5xx ${summary.serverErrors}`,
    `Netlogon DC: ${number(dcCalls.answered)} NetrLogonSamLogonEx answered, marked down ${dcCalls.down} times`,
    '',
    'family             inputs     ms/input  slowest ms  statuses',
  ];
  for (const [name, stats] of Object.entries(summary.families)) {
    const statuses = Object.entries(stats.statuses)
      .sort((a, b) => b[1] - a[1])
      .map(([status, count]) => `${status}: ${number(count)}`)
      .join(', ');
    lines.push(
      `${name.padEnd(18)} ${number(stats.inputs).padStart(9)}  ${(stats.totalMs / stats.inputs).toFixed(3).padStart(8)}  ${stats.maxMs.toFixed(0).padStart(10)}  ${statuses}`,
    );
  }
  lines.push('', 'what was mutated, and the codes answered:');
  for (const [name, stats] of Object.entries(summary.families)) {
    const top = (record: Record<string, number>, n: number) =>
      Object.entries(record)
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([key, count]) => `${key} ${number(count)}`)
        .join(', ');
    lines.push(`  ${name}: ${top(stats.kinds, 10)}`, `    codes: ${top(stats.codes, verbose ? 50 : 8)}`);
  }
  if (summary.findings.length) {
    lines.push('', 'FINDINGS (first reproducer of each; rerun one with --seed S --replay INDEX):');
    for (const finding of summary.findings) {
      lines.push(
        `- ${finding.family} ${finding.what} x${number(finding.count)}: index ${finding.index} (${finding.kind}) ${finding.code?.split('\n').slice(0, 4).join(' | ') ?? ''}${finding.reason ? `: ${finding.reason}` : ''}`,
        ...describeInput(finding.input),
        `  input: ${clip(asHex(finding.input), verbose)}`,
      );
    }
  }
  return lines.join('\n');
}
