import { randomBytes } from 'node:crypto';
import { AvId, encodeAvPairs } from './av-pairs.js';
import { encodeChallenge } from './challenge.js';
import { NegotiateFlags as F, hasFlag } from './flags.js';
import { filetimeFromDate } from './ntlmv2-response.js';
import { encodeVersion } from './version.js';

/** Flags we echo when the client asks for them; everything else is ours to set. */
const ECHOED = [
  F.NEGOTIATE_SIGN,
  F.NEGOTIATE_SEAL,
  F.NEGOTIATE_ALWAYS_SIGN,
  F.NEGOTIATE_EXTENDED_SESSIONSECURITY,
  F.NEGOTIATE_128,
  F.NEGOTIATE_56,
  F.NEGOTIATE_KEY_EXCH,
  F.NEGOTIATE_VERSION,
  F.REQUEST_TARGET,
];

/** The flags of our CHALLENGE for a client's NEGOTIATE flags, as Samba's ntlmssp server chooses them. */
export function challengeFlags(clientFlags: number): number {
  let flags = F.NEGOTIATE_NTLM | F.NEGOTIATE_TARGET_INFO | F.TARGET_TYPE_DOMAIN;
  flags |=
    hasFlag(clientFlags, F.NEGOTIATE_UNICODE) || !hasFlag(clientFlags, F.NEGOTIATE_OEM)
      ? F.NEGOTIATE_UNICODE
      : F.NEGOTIATE_OEM;
  for (const flag of ECHOED) if (hasFlag(clientFlags, flag)) flags |= flag;
  return flags >>> 0;
}

export interface ServerNames {
  /** NetBIOS domain name, e.g. EXAMPLE. */
  readonly netbiosDomain: string;
  /** NetBIOS computer name of this server. */
  readonly netbiosComputer: string;
  readonly dnsDomain: string;
  readonly dnsComputer: string;
}

/**
 * A CHALLENGE for a local acceptor: a fresh random server challenge and TargetInfo with our names
 * and the current time. Sending MsvAvTimestamp makes NTLMv2 clients echo it (and add a MIC).
 */
export function buildServerChallenge(
  clientFlags: number,
  names: ServerNames,
  now: number,
): { token: Buffer; serverChallenge: Buffer } {
  const timestamp = Buffer.alloc(8);
  timestamp.writeBigUInt64LE(filetimeFromDate(now));
  const targetInfo = encodeAvPairs([
    { id: AvId.MsvAvNbDomainName, value: Buffer.from(names.netbiosDomain, 'utf16le') },
    { id: AvId.MsvAvNbComputerName, value: Buffer.from(names.netbiosComputer, 'utf16le') },
    { id: AvId.MsvAvDnsDomainName, value: Buffer.from(names.dnsDomain, 'utf16le') },
    { id: AvId.MsvAvDnsComputerName, value: Buffer.from(names.dnsComputer, 'utf16le') },
    { id: AvId.MsvAvTimestamp, value: timestamp },
  ]);
  const serverChallenge = randomBytes(8);
  const token = encodeChallenge({
    flags: challengeFlags(clientFlags),
    targetName: names.netbiosDomain,
    serverChallenge,
    targetInfo,
    version: encodeVersion(),
  });
  return { token, serverChallenge };
}
