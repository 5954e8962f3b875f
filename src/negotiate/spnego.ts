import {
  type DerNode,
  DerReader,
  der,
  derError,
  element,
  oidBody,
  readBitString,
  readEnumerated,
  readFields,
  readOctetString,
  readOid,
  readSequenceOf,
  Tag,
  TagClass,
} from '../asn1/der.js';
import { DerWriter } from '../asn1/der-writer.js';
import { InvalidTokenError } from '../errors.js';

/**
 * SPNEGO (RFC 4178): the wrapper HTTP Negotiate (RFC 4559) puts around Kerberos or NTLM. The
 * first token is GSS-framed ([APPLICATION 0] { 1.3.6.1.5.5.2, [0] NegTokenInit }); every later
 * one is a bare [1] NegTokenResp. This module only reads and writes them: which mechanism runs
 * and whether a mechListMIC is required is decided by the caller.
 */

export const MechOid = {
  SPNEGO: '1.3.6.1.5.5.2',
  KRB5: '1.2.840.113554.1.2.2',
  /** Windows 2000's mistaken krb5 OID; Windows clients still list it first. */
  MS_KRB5: '1.2.840.48018.1.2.2',
  NTLMSSP: '1.3.6.1.4.1.311.2.2.10',
  /** MS-NEGOEX; Windows lists it first when it has nothing else to offer; we never choose it. */
  NEGOEX: '1.3.6.1.4.1.311.2.2.30',
} as const;

export const NegState = {
  ACCEPT_COMPLETED: 0,
  ACCEPT_INCOMPLETE: 1,
  REJECT: 2,
  REQUEST_MIC: 3,
} as const;

/** More than any browser sends (Windows sends ~48 KiB for a user in very many groups). */
export const MAX_SPNEGO_TOKEN_BYTES = 64 * 1024;
const MAX_MECH_TYPES = 16;

export interface NegTokenInit {
  readonly kind: 'init';
  /** Mechanism OIDs in the client's order of preference. */
  readonly mechTypes: readonly string[];
  /** The DER encoding of mechTypes exactly as sent: what a mechListMIC is computed over. */
  readonly mechTypesDer: Buffer;
  readonly reqFlags: Buffer | undefined;
  /** The optimistic token of mechTypes[0] (a Kerberos AP-REQ, an NTLM NEGOTIATE). */
  readonly mechToken: Buffer | undefined;
  readonly mechListMIC: Buffer | undefined;
}

export interface NegTokenResp {
  readonly kind: 'resp';
  readonly negState: number | undefined;
  readonly supportedMech: string | undefined;
  readonly responseToken: Buffer | undefined;
  readonly mechListMIC: Buffer | undefined;
}

const fail = derError('ERR_SPNEGO_INVALID_TOKEN');

/** Reads either SPNEGO token a client sends: the framed NegTokenInit or a bare NegTokenResp. */
export function decodeSpnego(token: Buffer): NegTokenInit | NegTokenResp {
  if (token.length > MAX_SPNEGO_TOKEN_BYTES) {
    throw new InvalidTokenError(
      `SPNEGO token of ${token.length} bytes is too large`,
      'ERR_SPNEGO_INVALID_TOKEN',
    );
  }
  const reader = new DerReader(token, { fail });
  const outer = reader.next('SPNEGO token');
  reader.end('SPNEGO token');
  if (outer.tagClass === TagClass.APPLICATION && outer.tag === 0 && outer.constructed) {
    const inner = reader.inside(outer, 'SPNEGO token');
    const oid = readOid(inner.next('SPNEGO mech'), 'SPNEGO mech', fail);
    if (oid !== MechOid.SPNEGO) throw fail(`SPNEGO token: framed for ${oid}, not SPNEGO`);
    const choice = inner.next('NegotiationToken');
    inner.end('SPNEGO token');
    if (choice.tagClass !== TagClass.CONTEXT || choice.tag !== 0 || !choice.constructed) {
      throw fail('SPNEGO token: the initial token must be a NegTokenInit');
    }
    return readNegTokenInit(inner, choice);
  }
  if (outer.tagClass === TagClass.CONTEXT && outer.tag === 1 && outer.constructed) {
    return readNegTokenResp(reader, outer);
  }
  throw fail('not a SPNEGO token');
}

function only(reader: DerReader, wrapper: DerNode, what: string): { node: DerNode; reader: DerReader } {
  const inner = reader.inside(wrapper, what);
  const node = inner.next(what);
  inner.end(what);
  return { node, reader: inner };
}

function readNegTokenInit(parent: DerReader, choice: DerNode): NegTokenInit {
  const { node, reader } = only(parent, choice, 'NegTokenInit');
  const f = readFields(reader, node, 'NegTokenInit', [0, 1, 2, 3], [0]);
  const mechList = f.get(0)!;
  const mechTypes = readSequenceOf(reader, mechList, 'NegTokenInit mechTypes', MAX_MECH_TYPES, (element) =>
    readOid(element, 'NegTokenInit mechType', fail),
  );
  if (mechTypes.length === 0) throw fail('NegTokenInit: empty mechTypes');
  const reqFlags = f.get(1);
  const mechToken = f.get(2);
  const mic = f.get(3);
  return {
    kind: 'init',
    mechTypes,
    mechTypesDer: mechList.raw,
    reqFlags: reqFlags ? readBitString(reqFlags, 'NegTokenInit reqFlags', fail) : undefined,
    mechToken: mechToken ? readOctetString(mechToken, 'NegTokenInit mechToken', fail) : undefined,
    mechListMIC: mic ? readOctetString(mic, 'NegTokenInit mechListMIC', fail) : undefined,
  };
}

function readNegTokenResp(parent: DerReader, choice: DerNode): NegTokenResp {
  const { node, reader } = only(parent, choice, 'NegTokenResp');
  const f = readFields(reader, node, 'NegTokenResp', [0, 1, 2, 3], []);
  const state = f.get(0);
  const mech = f.get(1);
  const response = f.get(2);
  const mic = f.get(3);
  const negState = state ? readEnumerated(state, 'NegTokenResp negState', fail) : undefined;
  if (negState !== undefined && negState > NegState.REQUEST_MIC)
    throw fail(`NegTokenResp: negState ${negState}`);
  return {
    kind: 'resp',
    negState,
    supportedMech: mech ? readOid(mech, 'NegTokenResp supportedMech', fail) : undefined,
    responseToken: response ? readOctetString(response, 'NegTokenResp responseToken', fail) : undefined,
    mechListMIC: mic ? readOctetString(mic, 'NegTokenResp mechListMIC', fail) : undefined,
  };
}

/** The server's answer: [1] NegTokenResp, not GSS-framed (RFC 4178 4.2.2). */
export function encodeNegTokenResp(resp: Partial<Omit<NegTokenResp, 'kind'>>): Buffer {
  // Every Negotiate logon answers one: in one buffer (der-writer.ts says why).
  const writer = new DerWriter((resp.responseToken?.length ?? 0) + (resp.mechListMIC?.length ?? 0) + 48);
  const choice = writer.context(1);
  const sequence = writer.sequence();
  let field: number;
  if (resp.negState !== undefined) {
    field = writer.context(0);
    writer.enumerated(resp.negState);
    writer.end(field);
  }
  if (resp.supportedMech !== undefined) {
    field = writer.context(1);
    writer.primitive(Tag.OID, oidBody(resp.supportedMech));
    writer.end(field);
  }
  if (resp.responseToken !== undefined) writer.contextOctetString(2, resp.responseToken);
  if (resp.mechListMIC !== undefined) writer.contextOctetString(3, resp.mechListMIC);
  writer.end(sequence);
  writer.end(choice);
  return writer.result();
}

/** The mechanism OIDs as DER elements: a framed token's first element names one of them. */
const SPNEGO_OID = der.oid(MechOid.SPNEGO);
const KRB5_OID = der.oid(MechOid.KRB5);

/** A framed NegTokenInit, as a client sends it (for tests and clients of our own). */
export function encodeNegTokenInit(init: {
  mechTypes: readonly string[];
  mechToken?: Buffer;
  mechListMIC?: Buffer;
}): Buffer {
  const body = der.sequence(
    der.context(0, der.sequence(...init.mechTypes.map(der.oid))),
    ...(init.mechToken ? [der.context(2, der.octetString(init.mechToken))] : []),
    ...(init.mechListMIC ? [der.context(3, der.octetString(init.mechListMIC))] : []),
  );
  return element(TagClass.APPLICATION, true, 0, Buffer.concat([SPNEGO_OID, der.context(0, body)]));
}

const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** Whether `token` holds `bytes` at `at`, compared in place (no view, no native call). */
function holdsAt(token: Buffer, at: number, bytes: Buffer): boolean {
  if (at + bytes.length > token.length) return false;
  for (let i = 0; i < bytes.length; i++) if (token[at + i] !== bytes[i]) return false;
  return true;
}

/**
 * What an `Authorization: Negotiate` token is, from its first bytes, without parsing it. Asked
 * twice a logon; compared byte by byte in place, where views, a string and `equals` cost ~7
 * thousand instructions a Kerberos logon (bench/analysis.md, session 19).
 */
export function peekNegotiateToken(
  token: Buffer,
): 'spnego-init' | 'spnego-resp' | 'ntlmssp' | 'krb5' | 'unknown' {
  if (holdsAt(token, 0, NTLMSSP_SIGNATURE)) return 'ntlmssp';
  if (token[0] === 0xa1) return 'spnego-resp';
  if (token[0] !== 0x60) return 'unknown';
  // Framed (RFC 2743 3.1): the OID right after the frame's length tells SPNEGO from a bare krb5
  // token (RFC 4559 allows both). The length is read, not skipped by looking for the OID's tag:
  // its octets may hold 0x06 themselves (a token of 1,536-1,791 bytes is 60 82 06 xx).
  const first = token[1];
  if (first === undefined || first === 0x80 || first > 0x84) return 'unknown';
  const at = first < 0x80 ? 2 : 2 + (first & 0x7f);
  return holdsAt(token, at, SPNEGO_OID) ? 'spnego-init' : holdsAt(token, at, KRB5_OID) ? 'krb5' : 'unknown';
}
