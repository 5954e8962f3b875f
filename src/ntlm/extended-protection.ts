import { createHash } from 'node:crypto';
import { readOid, readOne, Tag, TagClass } from '../asn1/der.js';
import { AuthenticationError } from '../errors.js';
import { AvId, type AvPair, findAvPair } from './av-pairs.js';
import { secretsEqual } from './crypto.js';

/**
 * Extended Protection for Authentication (IIS's `extendedProtection`): an NTLMv2 response names
 * the TLS channel it was made for (MsvAvChannelBindings, an MD5 of the GSS channel bindings with
 * RFC 5929 `tls-server-end-point`) and the service it was made for (MsvAvTargetName, an SPN),
 * both covered by the NTProofStr. Checking them stops a man in the middle from relaying a
 * client's logon on another TLS connection or to another service. MS-NLMP 3.3.2 and 3.2.5.1.2.
 *
 * - `'off'`: nothing is checked (the default, as in IIS).
 * - `'allow'`: what the client sends must match; a client that sends nothing gets in.
 * - `'require'`: over TLS the channel binding must be present and match; over plain HTTP the
 *   target name must be present and be one of our SPNs.
 */
export type ExtendedProtectionMode = 'off' | 'allow' | 'require';

const PREFIX = Buffer.from('tls-server-end-point:', 'ascii');

/** signatureAlgorithm OIDs whose hash RFC 5929 4.1 uses (MD5 and SHA-1 are replaced by SHA-256). */
const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13': 'sha512', // sha512WithRSAEncryption
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4': 'sha512', // ecdsa-with-SHA512
};

/** Our certificate is configuration, not a client's token: a malformed one is a RangeError. */
const certificateError = (message: string): Error => new RangeError(message);

/** The hash RFC 5929 4.1 prescribes for a certificate: its signature's hash, SHA-256 for MD5/SHA-1 and anything else. */
export function endPointHashAlgorithm(certificateDer: Buffer): string {
  // RFC 5280 4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
  const { reader } = readOne(
    certificateDer,
    'Certificate',
    TagClass.UNIVERSAL,
    Tag.SEQUENCE,
    certificateError,
  );
  reader.expect('tbsCertificate', TagClass.UNIVERSAL, Tag.SEQUENCE, true);
  const algorithm = reader.expect('signatureAlgorithm', TagClass.UNIVERSAL, Tag.SEQUENCE, true);
  const oid = reader.inside(algorithm, 'signatureAlgorithm').next('signatureAlgorithm algorithm');
  return SIGNATURE_HASH[readOid(oid, 'signatureAlgorithm algorithm', certificateError)] ?? 'sha256';
}

/** `tls-server-end-point:` + the certificate's hash: the channel binding's application data (RFC 5929 4). */
export function tlsServerEndPoint(certificateDer: Buffer): Buffer {
  const hash = createHash(endPointHashAlgorithm(certificateDer)).update(certificateDer).digest();
  return Buffer.concat([PREFIX, hash]);
}

/**
 * What a client puts in MsvAvChannelBindings: MD5 of gss_channel_bindings_struct (RFC 2744 3.11)
 * with no addresses and `applicationData` (MS-NLMP 3.1.5.1.2 "ClientChannelBindingsUnhashed").
 */
export function channelBindingsHash(applicationData: Buffer): Buffer {
  const header = Buffer.alloc(20); // initiator_addrtype, initiator_address.length, acceptor_addrtype, acceptor_address.length: 0
  header.writeUInt32LE(applicationData.length, 16);
  return createHash('md5').update(header).update(applicationData).digest();
}

export interface ExtendedProtectionCheck {
  readonly mode: ExtendedProtectionMode;
  /** The NTLMv2 response's AV pairs (what the client signed). */
  readonly avPairs: readonly AvPair[];
  /** `channelBindingsHash(tlsServerEndPoint(ourCertificate))` when the request came over TLS, else undefined. */
  readonly expectedChannelBindings: Buffer | undefined;
  /** Our SPNs, e.g. `['HTTP/www.example.test', 'HTTP/www']`; matched as `spnAccepts` says. */
  readonly spns: readonly string[];
  readonly claimedUser: string;
}

/** Checks an NTLMv2 response's channel binding and target name as `mode` asks; throws AuthenticationError. */
export function checkExtendedProtection(check: ExtendedProtectionCheck): void {
  if (check.mode === 'off') return;
  const { claimedUser } = check;
  const bindings = findAvPair(check.avPairs, AvId.MsvAvChannelBindings);
  const sentBindings = bindings !== undefined && !bindings.equals(Buffer.alloc(bindings.length));
  const target = findAvPair(check.avPairs, AvId.MsvAvTargetName)?.toString('utf16le') ?? '';

  if (check.expectedChannelBindings) {
    if (sentBindings) {
      if (bindings.length !== 16 || !secretsEqual(bindings, check.expectedChannelBindings)) {
        throw new AuthenticationError(
          'ERR_NTLM_CHANNEL_BINDING_MISMATCH',
          'the client’s channel binding names another TLS channel (a relay, or a TLS-terminating proxy in between)',
          { claimedUser },
        );
      }
    } else if (check.mode === 'require') {
      throw new AuthenticationError(
        'ERR_NTLM_CHANNEL_BINDING_MISMATCH',
        'extended protection is required and the client sent no channel binding',
        { claimedUser },
      );
    }
  }

  if (target !== '' && check.spns.length > 0) {
    if (!check.spns.some((spn) => spnAccepts(spn, target))) {
      throw new AuthenticationError(
        'ERR_NTLM_TARGET_NAME_MISMATCH',
        `the client’s response is for ${target}, not one of our SPNs`,
        { claimedUser },
      );
    }
  } else if (check.mode === 'require' && !check.expectedChannelBindings) {
    throw new AuthenticationError(
      'ERR_NTLM_TARGET_NAME_MISMATCH',
      target === ''
        ? 'extended protection is required and the client named no target SPN'
        : 'extended protection is required over plain HTTP and no SPNs are configured to check the target against',
      { claimedUser },
    );
  }
}

/** An SPN as `serviceclass/host[:port][/servicename]` (MS-ADTS 2.2.21; RFC 4120 principal names). */
interface ServicePrincipal {
  readonly serviceClass: string;
  readonly host: string;
  readonly port: string | undefined;
  readonly serviceName: string | undefined;
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`, lower case; a port is 1-5 digits. */
const HOST_AND_PORT = /^(\[[0-9a-f:.]+\]|[^:[\]/]+)(?::(\d{1,5}))?$/;

function parseSpn(spn: string): ServicePrincipal | undefined {
  const [serviceClass, hostAndPort, serviceName, ...more] = spn.toLowerCase().split('/');
  if (!serviceClass || hostAndPort === undefined || more.length > 0) return undefined;
  const match = HOST_AND_PORT.exec(hostAndPort);
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : String(Number(match[2]));
  return { serviceClass, host: match[1]!, port, serviceName };
}

/**
 * Whether the target a client signed names the service `spn` names. Browsers build the target
 * from the URL: Chromium sends `HTTP/localhost:3443` for https://localhost:3443/ (the port
 * whenever it is not the scheme's default), Windows SSPI `HTTP/host`. So an SPN without a port
 * stands for its host on any port; one with a port for that port only. Service class, host and
 * service name must be the same (any case): another host, even one that starts alike
 * (`HTTP/localhost.evil.test`), never matches.
 */
export function spnAccepts(spn: string, target: string): boolean {
  const ours = parseSpn(spn);
  const theirs = parseSpn(target);
  if (!ours || !theirs) return false;
  return (
    ours.serviceClass === theirs.serviceClass &&
    ours.host === theirs.host &&
    (ours.port === undefined || ours.port === theirs.port) &&
    ours.serviceName === theirs.serviceName
  );
}
