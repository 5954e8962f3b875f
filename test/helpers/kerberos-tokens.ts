// Real AP-REQs from MIT GSSAPI (python3-gssapi, with or without channel bindings), and copies
// whose authenticator is edited and sealed again with the ticket's session key (opened with the
// service keytab): what a client that the KDC issued a ticket to could send.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { DerReader, der, readOne, TagClass } from '../../src/asn1/der.js';
import { decodeApReq } from '../../src/kerberos/ap-req.js';
import { encodeEncryptedData, encodeEncryptionKey } from '../../src/kerberos/asn1-types.js';
import { decodeAuthenticator } from '../../src/kerberos/authenticator.js';
import { decodeEncTicketPart } from '../../src/kerberos/enc-ticket-part.js';
import { decrypt, type EncryptionKey, encrypt, KeyUsage } from '../../src/kerberos/enctypes.js';
import { KRB5_OID, TokId, unwrapGssToken, wrapGssToken } from '../../src/kerberos/gss-token.js';
import { ServiceKeys } from '../../src/kerberos/service-key.js';

const run = promisify(execFile);

/**
 * `count` fresh GSS krb5 initial tokens (AP-REQs, each with its own authenticator) for
 * HTTP@localhost from the ccache in `env`. `bindings`: the channel's application data
 * (`tls-server-end-point:` + hash), given to MIT as gss_channel_bindings.
 */
export async function gssapiTokens(
  env: NodeJS.ProcessEnv,
  count: number,
  bindings?: Buffer,
): Promise<Buffer[]> {
  const script = [
    'import sys, base64, gssapi',
    'from gssapi.raw import ChannelBindings',
    'app = bytes.fromhex(sys.argv[2]) if len(sys.argv) > 2 else None',
    'cb = ChannelBindings(application_data=app) if app else None',
    "name = gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service)",
    "krb5 = gssapi.OID.from_int_seq('1.2.840.113554.1.2.2')",
    'for _ in range(int(sys.argv[1])):',
    "    ctx = gssapi.SecurityContext(name=name, usage='initiate', mech=krb5, channel_bindings=cb,",
    '        flags=gssapi.RequirementFlag.mutual_authentication)',
    '    print(base64.b64encode(ctx.step()).decode())',
  ].join('\n');
  const args = ['-c', script, String(count), ...(bindings ? [bindings.toString('hex')] : [])];
  const { stdout } = await run('/usr/bin/python3', args, { env, timeout: 60_000 });
  return stdout
    .trim()
    .split('\n')
    .map((line) => Buffer.from(line, 'base64'));
}

/** The authenticator's fields as DER elements by context tag, to edit before sealing again. */
export type AuthenticatorFields = Map<number, Buffer>;

/**
 * A copy of a GSS krb5 AP-REQ token whose authenticator went through `edit`: opened with the
 * session key from the ticket (opened with the keytab), edited, re-encoded and sealed again.
 */
export function resealAuthenticator(
  token: Buffer,
  keytabPath: string,
  edit: (fields: AuthenticatorFields, plain: Buffer) => void,
): Buffer {
  const apReqDer = unwrapGssToken(token).body;
  const apReq = decodeApReq(apReqDer);
  const serviceKey = ServiceKeys.fromKeytab(readFileSync(keytabPath), undefined, true).forTicket(
    apReq.ticket,
  );
  const sessionKey = decodeEncTicketPart(
    decrypt(serviceKey, KeyUsage.TICKET, apReq.ticket.encPart.cipher)!,
  ).key;
  const plain = decrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher)!;
  const fields = contextElements(plain, 2);
  edit(fields, plain);
  const edited = der.application(
    2,
    der.sequence(...[...fields.entries()].sort(([a], [b]) => a - b).map(([, e]) => e)),
  );
  const cipher = encrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, edited);
  const apReqFields = contextElements(apReqDer, 14);
  apReqFields.set(
    4,
    der.context(4, encodeEncryptedData({ etype: sessionKey.etype, kvno: undefined, cipher })),
  );
  const rebuilt = der.application(14, der.sequence(...[...apReqFields.values()]));
  return wrapGssToken(KRB5_OID, TokId.AP_REQ, rebuilt);
}

/** The Bnd field of the 0x8003 checksum replaced (RFC 4121 4.1.1: 16 bytes after Lgth). */
export function withBindings(bnd: Buffer) {
  return (fields: AuthenticatorFields, plain: Buffer): void => {
    const checksum = Buffer.from(decodeAuthenticator(plain).cksum!.checksum);
    bnd.copy(checksum, 4);
    fields.set(
      3,
      der.context(
        3,
        der.sequence(der.context(0, der.integer(0x8003)), der.context(1, der.octetString(checksum))),
      ),
    );
  };
}

/** The authenticator's subkey replaced. */
export function withSubkey(subkey: EncryptionKey) {
  return (fields: AuthenticatorFields): void => {
    fields.set(6, der.context(6, encodeEncryptionKey(subkey)));
  };
}

/** The [n] fields of an [APPLICATION tag] SEQUENCE, each as its whole context-tagged element. */
function contextElements(bytes: Buffer, applicationTag: number): Map<number, Buffer> {
  const { reader } = readOne(bytes, 'message', TagClass.APPLICATION, applicationTag);
  const sequence = reader.next('message');
  const inner = new DerReader(sequence.body);
  const fields = new Map<number, Buffer>();
  while (!inner.done) {
    const field = inner.next('field');
    fields.set(field.tag, Buffer.from(field.raw));
  }
  return fields;
}
