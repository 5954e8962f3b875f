import {
  type DerNode,
  DerReader,
  readFields,
  readInteger,
  readKerberosString,
  readOctetString,
  readOne,
  readSequenceOf,
  Tag,
  TagClass,
} from '../asn1/der.js';

/** KRB-ERROR (RFC 4120 5.9.1) and what a client reads in its e-data: METHOD-DATA, ETYPE-INFO2. */

/** The error codes a password check tells apart (RFC 4120 7.5.9, MS-KILE 3.3.5.x). */
export const KdcErrorCode = {
  C_PRINCIPAL_UNKNOWN: 6,
  S_PRINCIPAL_UNKNOWN: 7,
  ETYPE_NOSUPP: 14,
  CLIENT_REVOKED: 18,
  KEY_EXPIRED: 23,
  PREAUTH_FAILED: 24,
  PREAUTH_REQUIRED: 25,
  SKEW: 37,
  WRONG_REALM: 68,
} as const;

/** PA-DATA types (RFC 4120 7.5.2). */
export const PaDataType = {
  TGS_REQ: 1,
  ENC_TIMESTAMP: 2,
  ETYPE_INFO2: 19,
} as const;

export interface PaData {
  readonly type: number;
  readonly value: Buffer;
}

export interface KrbError {
  readonly errorCode: number;
  readonly text: string | undefined;
  /** METHOD-DATA when the KDC sent some (PREAUTH_REQUIRED / PREAUTH_FAILED), else []. */
  readonly methodData: readonly PaData[];
}

/** One ETYPE-INFO2-ENTRY: how the KDC derives this user's key of that type from the password. */
export interface EtypeInfo2Entry {
  readonly etype: number;
  readonly salt: string | undefined;
  readonly s2kparams: Buffer | undefined;
}

const MAX_PA_DATA = 32;
const MSG_TYPE_KRB_ERROR = 30;

export function isKrbError(bytes: Buffer): boolean {
  return bytes[0] === 0x7e; // [APPLICATION 30], constructed
}

export function decodeKrbError(bytes: Buffer): KrbError {
  const { reader } = readOne(bytes, 'KRB-ERROR', TagClass.APPLICATION, 30);
  const f = readFields(
    reader,
    reader.next('KRB-ERROR'),
    'KRB-ERROR',
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    [0, 1, 4, 5, 6, 9, 10],
  );
  reader.end('KRB-ERROR');
  if (readInteger(f.get(1)!, 'KRB-ERROR msg-type') !== MSG_TYPE_KRB_ERROR)
    throw reader.fail('KRB-ERROR: wrong msg-type');
  const text = f.get(11);
  const eData = f.get(12);
  return {
    errorCode: readInteger(f.get(6)!, 'KRB-ERROR error-code'),
    // e-text is for the log only; a KDC may put anything there, so a bad one is dropped, not fatal.
    text: text ? safeText(text) : undefined,
    methodData: eData ? methodDataOrNone(readOctetString(eData, 'KRB-ERROR e-data')) : [],
  };
}

function safeText(node: Parameters<typeof readKerberosString>[0]): string | undefined {
  try {
    return readKerberosString(node, 'KRB-ERROR e-text');
  } catch {
    return undefined;
  }
}

/** e-data is METHOD-DATA for the preauthentication errors, something else (or nothing) otherwise. */
function methodDataOrNone(bytes: Buffer): PaData[] {
  if (bytes[0] !== 0x30) return [];
  try {
    return decodeMethodData(bytes);
  } catch {
    return [];
  }
}

/** METHOD-DATA ::= SEQUENCE OF PA-DATA */
export function decodeMethodData(bytes: Buffer): PaData[] {
  const { reader, node } = readOneSequence(bytes, 'METHOD-DATA');
  return readPaDataList(reader, node, 'METHOD-DATA');
}

export function readPaDataList(reader: DerReader, node: DerNode, what: string): PaData[] {
  return readSequenceOf(reader, node, what, MAX_PA_DATA, (element, inner) => {
    const f = readFields(inner, element, `${what} PA-DATA`, [1, 2], [1, 2]);
    return {
      type: readInteger(f.get(1)!, `${what} padata-type`),
      value: readOctetString(f.get(2)!, `${what} padata-value`),
    };
  });
}

/** ETYPE-INFO2 ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY (RFC 4120 5.2.7.5) */
export function decodeEtypeInfo2(bytes: Buffer): EtypeInfo2Entry[] {
  const { reader, node } = readOneSequence(bytes, 'ETYPE-INFO2');
  return readSequenceOf(reader, node, 'ETYPE-INFO2', MAX_PA_DATA, (element, inner) => {
    const f = readFields(inner, element, 'ETYPE-INFO2-ENTRY', [0, 1, 2], [0]);
    const salt = f.get(1);
    const params = f.get(2);
    return {
      etype: readInteger(f.get(0)!, 'ETYPE-INFO2 etype'),
      salt: salt ? readKerberosString(salt, 'ETYPE-INFO2 salt') : undefined,
      s2kparams: params ? readOctetString(params, 'ETYPE-INFO2 s2kparams') : undefined,
    };
  });
}

/** The ETYPE-INFO2 among some PA-DATA, decoded, or undefined. */
export function etypeInfo2Of(padata: readonly PaData[]): EtypeInfo2Entry[] | undefined {
  const found = padata.find((pa) => pa.type === PaDataType.ETYPE_INFO2);
  return found ? decodeEtypeInfo2(found.value) : undefined;
}

function readOneSequence(bytes: Buffer, what: string): { reader: DerReader; node: DerNode } {
  const reader = new DerReader(bytes);
  const node = reader.expect(what, TagClass.UNIVERSAL, Tag.SEQUENCE, true);
  reader.end(what);
  return { reader, node };
}

/** A KDC answered a request with KRB-ERROR; the caller decides what it means for the logon. */
export class KdcError extends Error {
  constructor(
    readonly errorCode: number,
    readonly exchange: 'AS' | 'TGS',
    text: string | undefined,
  ) {
    super(`KDC answered the ${exchange}-REQ with error ${errorCode}${text ? ` (${text})` : ''}`);
    this.name = 'KdcError';
  }

  static from(error: KrbError, exchange: 'AS' | 'TGS'): KdcError {
    return new KdcError(error.errorCode, exchange, error.text);
  }
}
