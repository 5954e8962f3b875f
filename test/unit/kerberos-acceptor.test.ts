// kerberosAcceptor() on a real token from curl --negotiate and its keytab, with the clock set to
// the capture time; tampered copies of it for each refusal.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AuthenticationError, ConfigurationError, InvalidTokenError } from '../../src/errors.js';
import { kerberosAcceptor } from '../../src/kerberos/acceptor.js';
import { decodeApRep } from '../../src/kerberos/ap-rep.js';
import { decodeApReq } from '../../src/kerberos/ap-req.js';
import { decodeEncTicketPart } from '../../src/kerberos/enc-ticket-part.js';
import { decrypt, EncType, encrypt, KeyUsage } from '../../src/kerberos/enctypes.js';
import { decodeGssChecksum, GssFlag, TokId, unwrapGssToken } from '../../src/kerberos/gss-token.js';
import { parseKeytab } from '../../src/kerberos/keytab.js';
import { keptPart, type OpenedTicket, OpenedTickets } from '../../src/kerberos/opened-tickets.js';
import { ServiceKeys } from '../../src/kerberos/service-key.js';
import { decodeSpnego } from '../../src/negotiate/spnego.js';
import { MemoryStore, type Store } from '../../src/store/store.js';

const FIXTURES = new URL('../fixtures/kerberos/', import.meta.url);
const KEYTAB = readFileSync(new URL('http.keytab', FIXTURES));
const SPNEGO = Buffer.from(
  readFileSync(new URL('curl-negotiate-token.b64', FIXTURES), 'utf8').trim(),
  'base64',
);
const spnego = decodeSpnego(SPNEGO);
assert.equal(spnego.kind, 'init');
const TOKEN = spnego.mechToken!;
const CAPTURED = Date.parse('2026-11-23T13:11:00Z');
const DOMAIN = 'S-1-5-21-4260647339-1141557991-2007939543';
const SERVICE_KEY = parseKeytab(KEYTAB).find((e) => e.key.etype === EncType.AES256_CTS_HMAC_SHA1_96)!.key;

const acceptor = (options: Partial<Parameters<typeof kerberosAcceptor>[0]> = {}) =>
  kerberosAcceptor({ keytab: KEYTAB, now: () => CAPTURED, ...options });

const refused = (code: string) => (error: unknown) =>
  error instanceof AuthenticationError && error.code === code && error.statusCode === 401;
const invalid = (error: unknown) =>
  error instanceof InvalidTokenError && error.code === 'ERR_KRB_INVALID_TOKEN' && error.statusCode === 400;

/** An MIT keytab (0x0502) with the given entries. */
function keytab(entries: { components: string[]; kvno: number; etype: number; key: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from([5, 2])];
  const counted = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  for (const e of entries) {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(e.components.length);
    const tail = Buffer.alloc(4 + 4 + 1 + 2);
    tail.writeUInt32BE(1, 0);
    tail.writeUInt32BE(0, 4);
    tail[8] = e.kvno & 0xff;
    tail.writeUInt16BE(e.etype, 9);
    const kvno = Buffer.alloc(4);
    kvno.writeUInt32BE(e.kvno);
    const record = Buffer.concat([
      head,
      counted(Buffer.from('EXAMPLE.TEST')),
      ...e.components.map((c) => counted(Buffer.from(c))),
      tail,
      counted(e.key),
      kvno,
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(record.length);
    parts.push(size, record);
  }
  return Buffer.concat(parts);
}

/** The token with the ticket's plaintext edited (same length) and sealed again with the service key. */
function withTicketEdited(edit: (plain: Buffer) => void): Buffer {
  const cipher = decodeApReq(unwrapGssToken(TOKEN).body).ticket.encPart.cipher;
  const plain = Buffer.from(decrypt(SERVICE_KEY, KeyUsage.TICKET, cipher)!);
  edit(plain);
  return replaceBytes(TOKEN, cipher, encrypt(SERVICE_KEY, KeyUsage.TICKET, plain));
}

/** The token with the authenticator's plaintext edited and sealed again with the session key. */
function withAuthenticatorEdited(edit: (plain: Buffer) => void): Buffer {
  const apReq = decodeApReq(unwrapGssToken(TOKEN).body);
  const sessionKey = decodeEncTicketPart(
    decrypt(SERVICE_KEY, KeyUsage.TICKET, apReq.ticket.encPart.cipher)!,
  ).key;
  const plain = Buffer.from(decrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher)!);
  edit(plain);
  return replaceBytes(
    TOKEN,
    apReq.authenticator.cipher,
    encrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, plain),
  );
}

function replaceBytes(token: Buffer, old: Buffer, replacement: Buffer): Buffer {
  assert.equal(replacement.length, old.length);
  const at = token.indexOf(old);
  assert.ok(at > 0);
  const copy = Buffer.from(token);
  replacement.copy(copy, at);
  return copy;
}

function replaceFirst(plain: Buffer, from: Buffer, to: Buffer): void {
  const at = plain.indexOf(from);
  assert.ok(at >= 0, `pattern ${from.toString('hex')} not found`);
  to.copy(plain, at);
}

describe('kerberosAcceptor on the saved curl token', () => {
  it('accepts it as alice with the SID and groups from the PAC, and answers an AP-REP', async () => {
    const result = await acceptor().accept(TOKEN);
    assert.deepEqual(result.identity, {
      username: 'alice',
      domain: 'EXAMPLE',
      realm: 'EXAMPLE.TEST',
      userPrincipalName: 'alice@example.test',
      sid: `${DOMAIN}-1102`,
      groupSids: [`${DOMAIN}-513`, `${DOMAIN}-1106`, 'S-1-18-1'],
      displayName: 'Alice',
    });
    assert.equal(result.clientPrincipal, 'alice@EXAMPLE.TEST');
    // Mutual authentication: the AP-REP echoes the authenticator's time under the session key.
    const gss = unwrapGssToken(result.responseToken!);
    assert.equal(gss.tokId, TokId.AP_REP);
    const apReq = decodeApReq(unwrapGssToken(TOKEN).body);
    const part = decodeEncTicketPart(decrypt(SERVICE_KEY, KeyUsage.TICKET, apReq.ticket.encPart.cipher)!);
    const rep = decodeApRep(gss.body, part.key);
    assert.equal(rep.ctime.toISOString(), '2026-11-23T13:10:59.000Z');
    assert.equal(rep.cusec, 763836);
    assert.equal(rep.subkey?.etype, EncType.AES256_CTS_HMAC_SHA1_96);
  });

  it('keeps of an opened ticket buffers of their own, no view into the decrypted ticket or a pool slab', () => {
    const apReq = decodeApReq(unwrapGssToken(TOKEN).body);
    const part = decodeEncTicketPart(decrypt(SERVICE_KEY, KeyUsage.TICKET, apReq.ticket.encPart.cipher)!);
    // The decoder's are views (what made a kept ticket hold 8 KB slabs).
    assert.ok(part.key.value.buffer.byteLength > part.key.value.length);
    const kept = keptPart(part);
    for (const bytes of [kept.key.value, kept.flags]) {
      assert.equal(bytes.buffer.byteLength, bytes.length);
      assert.equal(bytes.byteOffset, 0);
    }
    assert.deepEqual(kept.key, part.key);
    assert.deepEqual(kept.flags, part.flags);
    assert.equal('authorizationData' in kept, false);
  });

  it('accepts the bare AP-REQ too, and with servicePrincipal set with or without realm', async () => {
    await acceptor({ servicePrincipal: 'HTTP/localhost@EXAMPLE.TEST' }).accept(unwrapGssToken(TOKEN).body);
    await acceptor({ servicePrincipal: 'http/LOCALHOST' }).accept(TOKEN);
  });

  it('refuses a replay, also on another instance sharing the store', async () => {
    const store = new MemoryStore();
    await acceptor({ replayStore: store }).accept(TOKEN);
    await assert.rejects(acceptor({ replayStore: store }).accept(TOKEN), refused('ERR_KRB_REPLAY'));
    // A replay that fails another check first is refused for that (the cache holds only good ones).
    await assert.rejects(
      acceptor({ replayStore: store, now: () => CAPTURED + 3_600_000 }).accept(TOKEN),
      refused('ERR_KRB_CLOCK_SKEW'),
    );
  });

  it("refuses a replay whose authenticator's etype label was changed (the label is not signed)", async () => {
    // The authenticator's EncryptedData: [0] etype 18, no kvno, then [2] the ciphertext.
    const label = Buffer.from('a00302011' + '2a2', 'hex');
    const at = TOKEN.indexOf(label);
    assert.ok(at > 0 && TOKEN.indexOf(label, at + 1) < 0);
    const relabelled = Buffer.from(TOKEN);
    relabelled[at + 4] = EncType.RC4_HMAC;
    assert.equal(decodeApReq(unwrapGssToken(relabelled).body).authenticator.etype, EncType.RC4_HMAC);
    // Decryption goes by the session key's enctype: the relabelled token is accepted on its own...
    await acceptor().accept(relabelled);
    // ...so after the original, it must be the same entry, in this process and in a shared store.
    for (const replayStore of [undefined, new MemoryStore()]) {
      const once = acceptor({ replayStore });
      await once.accept(TOKEN);
      await assert.rejects(once.accept(relabelled), refused('ERR_KRB_REPLAY'));
    }
  });

  it('refuses a skewed authenticator, an expired and a not-yet-valid ticket', async () => {
    const skewed = CAPTURED + 6 * 60_000;
    await assert.rejects(acceptor({ now: () => skewed }).accept(TOKEN), refused('ERR_KRB_CLOCK_SKEW'));
    await acceptor({ now: () => skewed, maxClockSkewMs: 10 * 60_000 }).accept(TOKEN);
    const expired = Date.parse('2026-11-23T23:16:00Z');
    await assert.rejects(acceptor({ now: () => expired }).accept(TOKEN), refused('ERR_KRB_TICKET_EXPIRED'));
    const early = Date.parse('2026-11-23T13:04:00Z');
    await assert.rejects(
      acceptor({ now: () => early }).accept(TOKEN),
      refused('ERR_KRB_TICKET_NOT_YET_VALID'),
    );
  });

  it('refuses a ticket for another SPN, a wrong key, and an unknown kvno; picks the key by kvno', async () => {
    const both = keytab([
      { components: ['HTTP', 'localhost'], kvno: 2, etype: 18, key: SERVICE_KEY.value },
      { components: ['HTTP', 'other'], kvno: 2, etype: 18, key: SERVICE_KEY.value },
    ]);
    await assert.rejects(
      acceptor({ keytab: both, servicePrincipal: 'HTTP/other' }).accept(TOKEN),
      refused('ERR_KRB_WRONG_SERVICE'),
    );
    const otherOnly = keytab([{ components: ['HTTP', 'other'], kvno: 2, etype: 18, key: SERVICE_KEY.value }]);
    await assert.rejects(acceptor({ keytab: otherOnly }).accept(TOKEN), refused('ERR_KRB_WRONG_SERVICE'));
    const wrongKey = keytab([
      { components: ['HTTP', 'localhost'], kvno: 2, etype: 18, key: randomBytes(32) },
    ]);
    await assert.rejects(acceptor({ keytab: wrongKey }).accept(TOKEN), refused('ERR_KRB_MODIFIED'));
    const rotated = keytab([
      { components: ['HTTP', 'localhost'], kvno: 3, etype: 18, key: SERVICE_KEY.value },
    ]);
    await assert.rejects(acceptor({ keytab: rotated }).accept(TOKEN), refused('ERR_KRB_NO_KEY'));
    const aes128Only = keytab([
      { components: ['HTTP', 'localhost'], kvno: 2, etype: 17, key: randomBytes(16) },
    ]);
    await assert.rejects(acceptor({ keytab: aes128Only }).accept(TOKEN), refused('ERR_KRB_NO_KEY'));
    // Rotation: the old kvno 1 (another key) and the current kvno 2 side by side.
    const rotation = keytab([
      { components: ['HTTP', 'localhost'], kvno: 1, etype: 18, key: randomBytes(32) },
      { components: ['HTTP', 'localhost'], kvno: 2, etype: 18, key: SERVICE_KEY.value },
      { components: ['HTTP', 'localhost'], kvno: 3, etype: 18, key: randomBytes(32) },
    ]);
    assert.equal((await acceptor({ keytab: rotation }).accept(TOKEN)).identity.username, 'alice');
  });

  it('chooses the service key by principal in any case, enctype and kvno (no kvno: the newest), every time', () => {
    const rotation = keytab([
      { components: ['HTTP', 'localhost'], kvno: 1, etype: 18, key: randomBytes(32) },
      { components: ['HTTP', 'localhost'], kvno: 2, etype: 18, key: SERVICE_KEY.value },
    ]);
    const keys = ServiceKeys.fromKeytab(rotation, undefined, false);
    const ticket = (kvno: number | undefined, realm = 'EXAMPLE.TEST', host = 'localhost') => ({
      realm,
      sname: { nameType: 2, components: ['HTTP', host] },
      encPart: { etype: 18, kvno, cipher: Buffer.alloc(64) },
    });
    const current = keys.forTicket(ticket(2));
    assert.deepEqual(current.value, SERVICE_KEY.value);
    assert.equal(keys.forTicket(ticket(2)), current);
    assert.notDeepEqual(keys.forTicket(ticket(1)).value, SERVICE_KEY.value);
    // No kvno: the newest; another spelling of the same principal: the same key.
    assert.equal(keys.forTicket(ticket(undefined)), current);
    assert.equal(keys.forTicket(ticket(2, 'example.test', 'LOCALHOST')), current);
    for (let i = 0; i < 2; i++) {
      assert.throws(() => keys.forTicket(ticket(3)), refused('ERR_KRB_NO_KEY'));
      assert.throws(
        () => keys.forTicket(ticket(2, 'EXAMPLE.TEST', 'other')),
        refused('ERR_KRB_WRONG_SERVICE'),
      );
    }
  });

  it('refuses an rc4-hmac ticket unless allowRc4', async () => {
    // The ticket's enc-part etype 18 (a0 03 02 01 12) rewritten to 23.
    const rc4 = Buffer.from(TOKEN);
    const at = rc4.indexOf(Buffer.from('a003020112a103020102', 'hex'));
    assert.ok(at > 0);
    rc4[at + 4] = 23;
    await assert.rejects(acceptor().accept(rc4), refused('ERR_KRB_ENCTYPE_REFUSED'));
    const withRc4 = keytab([{ components: ['HTTP', 'localhost'], kvno: 2, etype: 23, key: randomBytes(16) }]);
    await assert.rejects(
      acceptor({ keytab: withRc4, allowRc4: true }).accept(rc4),
      refused('ERR_KRB_MODIFIED'),
    );
  });

  it('refuses a tampered PAC, a ticket without PAC, and a PAC or authenticator for another client', async () => {
    const tamperedName = withTicketEdited((plain) =>
      replaceFirst(plain, Buffer.from('Alice', 'utf16le'), Buffer.from('Mallo', 'utf16le')),
    );
    await assert.rejects(acceptor().accept(tamperedName), refused('ERR_KRB_BAD_PAC'));
    // GroupIds: RID 1106 (0x452) with attributes 7 → 512 (Domain Admins).
    const tamperedGroup = withTicketEdited((plain) =>
      replaceFirst(plain, Buffer.from('5204000007000000', 'hex'), Buffer.from('0002000007000000', 'hex')),
    );
    await assert.rejects(acceptor().accept(tamperedGroup), refused('ERR_KRB_BAD_PAC'));
    // ad-type 128 (AD-WIN2K-PAC) → 129: the ticket has no PAC any more.
    const noPac = withTicketEdited((plain) =>
      replaceFirst(plain, Buffer.from('a00402020080', 'hex'), Buffer.from('a00402020081', 'hex')),
    );
    await assert.rejects(acceptor().accept(noPac), refused('ERR_KRB_BAD_PAC'));
    // The ticket's cname alice → alicf: the PAC's CLIENT_INFO (signed) no longer names it.
    const otherClient = withTicketEdited((plain) =>
      replaceFirst(plain, Buffer.from('1b05616c696365', 'hex'), Buffer.from('1b05616c696366', 'hex')),
    );
    await assert.rejects(acceptor().accept(otherClient), refused('ERR_KRB_CLIENT_MISMATCH'));
    const otherAuthenticator = withAuthenticatorEdited((plain) =>
      replaceFirst(plain, Buffer.from('1b05616c696365', 'hex'), Buffer.from('1b05616c696366', 'hex')),
    );
    await assert.rejects(acceptor().accept(otherAuthenticator), refused('ERR_KRB_CLIENT_MISMATCH'));
  });

  it('opens a ticket once, yet checks its times, and any changed copy, at every logon', async () => {
    // Every authenticator admitted: the same token stands for a client's next connections.
    const admitAll: Store = {
      get: async () => undefined,
      set: async () => {},
      delete: async () => {},
      setIfAbsent: async () => true,
    };
    let now = CAPTURED;
    const a = acceptor({ replayStore: admitAll, now: () => now });
    const first = await a.accept(TOKEN);
    const again = await a.accept(TOKEN);
    assert.deepEqual(again.identity, first.identity);
    // Shared by every logon with the ticket: no one can change it for the next.
    assert.ok(Object.isFrozen(again.identity) && Object.isFrozen(again.identity.groupSids));
    now = Date.parse('2026-11-23T23:16:00Z');
    await assert.rejects(a.accept(TOKEN), refused('ERR_KRB_TICKET_EXPIRED'));
    now = CAPTURED;
    const tamperedGroup = withTicketEdited((plain) =>
      replaceFirst(plain, Buffer.from('5204000007000000', 'hex'), Buffer.from('0002000007000000', 'hex')),
    );
    const cipher = decodeApReq(unwrapGssToken(TOKEN).body).ticket.encPart.cipher;
    const flipped = Buffer.from(cipher);
    flipped[40]! ^= 1;
    for (let i = 0; i < 2; i++) {
      await assert.rejects(a.accept(tamperedGroup), refused('ERR_KRB_BAD_PAC'));
      await assert.rejects(a.accept(replaceBytes(TOKEN, cipher, flipped)), refused('ERR_KRB_MODIFIED'));
    }
    assert.equal((await a.accept(TOKEN)).identity.sid, `${DOMAIN}-1102`);
    // On a ticket already open, the authenticator is still checked: another client's is refused.
    const otherAuthenticator = withAuthenticatorEdited((plain) =>
      replaceFirst(plain, Buffer.from('1b05616c696365', 'hex'), Buffer.from('1b05616c696366', 'hex')),
    );
    await assert.rejects(a.accept(otherAuthenticator), refused('ERR_KRB_CLIENT_MISMATCH'));
    // And the replay cache: the same authenticator twice on one acceptor.
    const once = acceptor({ replayStore: new MemoryStore() });
    await once.accept(TOKEN);
    await assert.rejects(once.accept(TOKEN), refused('ERR_KRB_REPLAY'));
  });

  it("keeps an AP-REQ's ticket once it passed, and serves the next logons from it; not a refused one, nor a password check's", async (t) => {
    const sets = t.mock.method(OpenedTickets.prototype, 'set');
    const gets = t.mock.method(OpenedTickets.prototype, 'get');
    const admitAll: Store = {
      get: async () => undefined,
      set: async () => {},
      delete: async () => {},
      setIfAbsent: async () => true,
    };
    const a = acceptor({ replayStore: admitAll });
    await a.accept(TOKEN);
    assert.equal(sets.mock.callCount(), 1);
    assert.equal(gets.mock.calls[0]!.result, undefined);
    await a.accept(TOKEN);
    await a.accept(TOKEN);
    assert.equal(sets.mock.callCount(), 1, 'a hit is not opened and kept again');
    assert.ok(gets.mock.calls.slice(1).every((call) => call.result !== undefined));
    // A ticket that fails a check is not kept.
    const tampered = withTicketEdited((plain) =>
      replaceFirst(plain, Buffer.from('5204000007000000', 'hex'), Buffer.from('0002000007000000', 'hex')),
    );
    await assert.rejects(a.accept(tampered), refused('ERR_KRB_BAD_PAC'));
    assert.equal(sets.mock.callCount(), 1);
    // Entries are found by the ciphertext's last 16 bytes: a copy changed elsewhere finds the
    // entry, is not served from it, fails as a new ticket, and leaves the entry to its ticket.
    const cipher = decodeApReq(unwrapGssToken(TOKEN).body).ticket.encPart.cipher;
    const sameTag = Buffer.from(cipher);
    sameTag[40]! ^= 1;
    await assert.rejects(a.accept(replaceBytes(TOKEN, cipher, sameTag)), refused('ERR_KRB_MODIFIED'));
    assert.equal(gets.mock.calls.at(-1)!.result, undefined);
    await a.accept(TOKEN);
    assert.notEqual(gets.mock.calls.at(-1)!.result, undefined, 'still served from its entry');
    assert.equal(sets.mock.callCount(), 1);
    // A ticket fetched to check a password (Basic) is new every time: neither looked up nor kept.
    const gotBefore = gets.mock.callCount();
    const ticket = decodeApReq(unwrapGssToken(TOKEN).body).ticket;
    const sessionKey = decodeEncTicketPart(decrypt(SERVICE_KEY, KeyUsage.TICKET, ticket.encPart.cipher)!).key;
    assert.equal(a.verifyTicket(ticket, sessionKey).clientPrincipal, 'alice@EXAMPLE.TEST');
    assert.equal(sets.mock.callCount(), 1);
    assert.equal(gets.mock.callCount(), gotBefore);
  });

  it('serves a kept ticket only for the same ciphertext and the very service key that opened it', () => {
    const tickets = new OpenedTickets();
    const ticket = decodeApReq(unwrapGssToken(TOKEN).body).ticket;
    const opened = { identity: { groupSids: [] } } as unknown as OpenedTicket;
    tickets.set(ticket, SERVICE_KEY, opened, 60_000);
    assert.equal(tickets.get(ticket, SERVICE_KEY), opened);
    // An equal key, but not the one that opened it (another keytab entry with the same bytes).
    const twin = { etype: SERVICE_KEY.etype, value: Buffer.from(SERVICE_KEY.value) };
    assert.equal(tickets.get(ticket, twin), undefined);
    // The same last 16 bytes, another byte before them.
    const cipher = Buffer.from(ticket.encPart.cipher);
    cipher[0]! ^= 1;
    assert.equal(tickets.get({ ...ticket, encPart: { ...ticket.encPart, cipher } }, SERVICE_KEY), undefined);
    assert.equal(tickets.get(ticket, SERVICE_KEY), opened);
  });

  it('answers a broken token with InvalidTokenError (400), never a RangeError', async () => {
    const a = acceptor();
    await assert.rejects(a.accept(Buffer.alloc(0)), invalid);
    await assert.rejects(a.accept(TOKEN.subarray(0, TOKEN.length - 1)), invalid);
    await assert.rejects(a.accept(Buffer.concat([TOKEN, Buffer.from([0])])), invalid);
    await assert.rejects(a.accept(Buffer.from('not kerberos')), invalid);
    const apReq = unwrapGssToken(TOKEN).body;
    for (let cut = 1; cut < apReq.length; cut += 7) {
      await assert.rejects(a.accept(apReq.subarray(0, cut)), invalid);
    }
    // A flipped bit in the ticket's ciphertext is an integrity failure, not a parse error.
    const flipped = Buffer.from(TOKEN);
    flipped[300]! ^= 1;
    await assert.rejects(a.accept(flipped), refused('ERR_KRB_MODIFIED'));
  });

  it('checks its options at construction', () => {
    const config = (options: object) => () => kerberosAcceptor({ keytab: KEYTAB, ...options } as never);
    assert.throws(() => kerberosAcceptor({ keytab: '/nonexistent/http.keytab' }), ConfigurationError);
    assert.throws(() => kerberosAcceptor({ keytab: Buffer.from([5, 1]) }), ConfigurationError);
    assert.throws(config({ maxClockSkewMs: -1 }), ConfigurationError);
    assert.throws(config({ allowRc4: 'yes' }), ConfigurationError);
    assert.throws(config({ servicePrincipal: 'HTTP/elsewhere' }), ConfigurationError);
    assert.throws(config({ replayStore: { get() {}, set() {}, delete() {} } }), ConfigurationError);
    const rc4Only = keytab([{ components: ['HTTP', 'localhost'], kvno: 2, etype: 23, key: randomBytes(16) }]);
    assert.throws(() => kerberosAcceptor({ keytab: rc4Only }), ConfigurationError);
  });
});

describe('the GSS checksum 0x8003 (RFC 4121 4.1.1)', () => {
  const checksum = (flags: number, extra = '') =>
    Buffer.concat([
      Buffer.from('10000000', 'hex'), // Lgth 16
      Buffer.alloc(16), // Bnd: no channel bindings
      Buffer.from([flags, 0, 0, 0]),
      Buffer.from(extra, 'hex'),
    ]);
  const deleg = GssFlag.DELEG | GssFlag.MUTUAL | GssFlag.INTEG;

  it('reads a forwarded ticket when one follows, and a DELEG flag on 24 bytes as none (as MIT and Heimdal do)', () => {
    assert.deepEqual(
      decodeGssChecksum(checksum(deleg, '01000300aabbcc')).delegation,
      Buffer.from('aabbcc', 'hex'),
    );
    const bare = decodeGssChecksum(checksum(deleg));
    assert.equal(bare.delegation, undefined);
    assert.equal(bare.flags, deleg);
    assert.equal(decodeGssChecksum(checksum(GssFlag.MUTUAL, 'ffff')).delegation, undefined);
  });

  it('refuses a cut or wrong delegation field, and a short checksum', () => {
    for (const [flags, extra] of [
      [deleg, '0100'], // DlgOpt without Dlgth
      [deleg, '02000000'], // DlgOpt not 1
      [deleg, '01000500aabb'], // Deleg of 5 bytes, 2 there
    ] as const) {
      assert.throws(() => decodeGssChecksum(checksum(flags, extra)), InvalidTokenError, extra);
    }
    assert.throws(() => decodeGssChecksum(checksum(deleg).subarray(0, 23)), InvalidTokenError);
  });
});

describe('MIT keytab', () => {
  it('reads several principals and kvnos, skips holes, and uses the 32-bit kvno', () => {
    const file = keytab([
      { components: ['HTTP', 'a'], kvno: 300, etype: 18, key: Buffer.alloc(32, 1) },
      { components: ['HTTP', 'b'], kvno: 2, etype: 17, key: Buffer.alloc(16, 2) },
    ]);
    const hole = Buffer.alloc(8);
    hole.writeInt32BE(-4);
    const entries = parseKeytab(Buffer.concat([file.subarray(0, 2), hole, file.subarray(2)]));
    assert.deepEqual(
      entries.map((e) => [e.components.join('/'), e.realm, e.kvno, e.key.etype, e.key.value.length]),
      [
        ['HTTP/a', 'EXAMPLE.TEST', 300, 18, 32],
        ['HTTP/b', 'EXAMPLE.TEST', 2, 17, 16],
      ],
    );
    assert.deepEqual(
      parseKeytab(KEYTAB).map((e) => [e.components.join('/'), e.kvno, e.key.etype]),
      [
        ['HTTP/localhost', 2, 18],
        ['HTTP/localhost', 2, 17],
      ],
    );
    assert.throws(() => parseKeytab(file.subarray(0, file.length - 3)), ConfigurationError);
  });
});
