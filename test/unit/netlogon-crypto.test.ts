// The Netlogon secure channel's crypto and marshalling against one exchange captured from the
// Samba DC (test/fixtures/netlogon-capture.json, made by test/fixtures/capture-netlogon.ts): the
// DC accepted the request we sealed and its response verified, so matching these bytes means
// matching the DC.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  decodeAuthenticate3,
  decodeReqChallenge,
  decodeSamLogonEx,
  encodeAuthenticate3,
  encodeReqChallenge,
  encodeSamLogonEx,
  NEGOTIATE_FLAGS,
} from '../../src/netlogon/calls.js';
import {
  AES_VERIFIER_LENGTH,
  aesCfb8Encrypt,
  computeNetlogonCredentialAes,
  computeSessionKeyAes,
  SEALED_HEADER,
  sealAes,
  sequenceBytes,
  unsealAes,
} from '../../src/netlogon/crypto.js';
import { SchannelContext } from '../../src/netlogon/schannel.js';
import { samInfoSids } from '../../src/netlogon/validation-info.js';
import { ntowfv1, ntowfv2, sessionBaseKeyV2 } from '../../src/ntlm/crypto.js';
import { RpcProtocolError } from '../../src/rpc/pdu.js';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/netlogon-capture.json', import.meta.url), 'utf8'),
);
const hex = (text: string) => Buffer.from(text, 'hex');
const a3 = fixture.authenticate3;
interface SealedPdu {
  counter: number;
  plain: string;
  sealed: string;
  verifier: string;
}
const request = fixture.samLogonEx.pdus[0] as SealedPdu;
const response = fixture.samLogonEx.pdus[1] as SealedPdu;
const sessionKey = hex(a3.sessionKey);

describe('NetrServerAuthenticate3 (captured from Samba)', () => {
  it('derives the DC’s session key: HMAC-SHA256(NT hash, client ‖ server challenge)[:16]', async () => {
    const ntHash = await ntowfv1(fixture.machine.password);
    assert.deepEqual(
      computeSessionKeyAes(ntHash, hex(a3.clientChallenge), hex(a3.serverChallenge)),
      sessionKey,
    );
  });

  it('computes the credentials both sides send (AES-128-CFB8, zero IV)', () => {
    const clientCredential = computeNetlogonCredentialAes(hex(a3.clientChallenge), sessionKey);
    // Our request carried it, and the DC accepted it:
    const expectedRequest = encodeAuthenticate3({
      accountName: 'WEB01$',
      computerName: 'WEB01',
      clientCredential,
      negotiateFlags: NEGOTIATE_FLAGS,
    });
    assert.equal(expectedRequest.toString('hex'), a3.stubs.opnum26Request);
    // The DC proved the same key:
    assert.deepEqual(
      computeNetlogonCredentialAes(hex(a3.serverChallenge), sessionKey),
      hex(a3.serverCredential),
    );
  });

  it('marshals and reads the two calls as on the wire', () => {
    assert.equal(
      encodeReqChallenge('WEB01', hex(a3.clientChallenge)).toString('hex'),
      a3.stubs.opnum4Request,
    );
    assert.deepEqual(decodeReqChallenge(hex(a3.stubs.opnum4Response)), {
      serverChallenge: hex(a3.serverChallenge),
      status: 0,
    });
    const answer = decodeAuthenticate3(hex(a3.stubs.opnum26Response));
    assert.equal(answer.status, 0);
    assert.equal(answer.negotiateFlags, 0x612fffff);
    assert.equal(answer.accountRid, a3.accountRid);
    assert.throws(() => decodeAuthenticate3(hex(a3.stubs.opnum26Response).subarray(0, 15)), {
      code: 'ERR_NTLM_DC_ERROR',
    });
  });
});

describe('schannel AES sealing (the 56-byte verifier as Samba and Windows lay it out)', () => {
  it('seals the captured request byte for byte, with the confounder at offset 24', () => {
    const { sealed, verifier } = sealAes(
      sessionKey,
      BigInt(request.counter),
      hex(request.plain),
      hex(fixture.samLogonEx.confounder),
    );
    assert.equal(sealed.toString('hex'), request.sealed);
    assert.equal(verifier.toString('hex'), request.verifier);
    assert.equal(verifier.length, AES_VERIFIER_LENGTH);
    assert.deepEqual(verifier.subarray(0, 8), SEALED_HEADER);
    assert.deepEqual(verifier.subarray(32), Buffer.alloc(24), 'the spec’s confounder slot (48) stays zero');
    // The sequence number is the counter with the client bit, encrypted under IV = checksum ×2.
    const checksum = verifier.subarray(16, 24);
    assert.deepEqual(
      verifier.subarray(8, 16),
      aesCfb8Encrypt(sessionKey, Buffer.concat([checksum, checksum]), sequenceBytes(0n, true)),
    );
  });

  it('unseals the DC’s captured response under the same counter, advanced once', () => {
    assert.equal(response.counter, request.counter + 1, 'one counter for both directions');
    const plain = unsealAes(
      sessionKey,
      BigInt(response.counter),
      hex(response.sealed),
      hex(response.verifier),
    );
    assert.equal(plain?.toString('hex'), response.plain);
  });

  it('refuses a response with a wrong counter, a flipped bit, or the spec’s layout', () => {
    const sealed = hex(response.sealed);
    const verifier = hex(response.verifier);
    assert.equal(unsealAes(sessionKey, BigInt(response.counter + 1), sealed, verifier), undefined);
    assert.equal(unsealAes(sessionKey, 0n, sealed, verifier), undefined);
    const flipped = Buffer.from(sealed);
    flipped[10]! ^= 1;
    assert.equal(unsealAes(sessionKey, BigInt(response.counter), flipped, verifier), undefined);
    // MS-NRPC 2.2.1.3.3 as written: confounder at 48. Not what the DC sends, not what we accept.
    const specLayout = Buffer.alloc(AES_VERIFIER_LENGTH);
    verifier.copy(specLayout, 0, 0, 24);
    verifier.copy(specLayout, 48, 24, 32);
    assert.equal(unsealAes(sessionKey, BigInt(response.counter), sealed, specLayout), undefined);
    assert.equal(
      unsealAes(sessionKey, BigInt(response.counter), sealed, verifier.subarray(0, 48)),
      undefined,
    );
  });

  it('our own request does not pass as a response (the direction bit differs)', () => {
    const { sealed, verifier } = sealAes(sessionKey, 5n, Buffer.from('hello, DC'));
    assert.equal(unsealAes(sessionKey, 5n, sealed, verifier), undefined);
  });

  it('SchannelContext keeps one counter: seal, unseal, and a failed unseal is an error', () => {
    const context = new SchannelContext(sessionKey, 'EXAMPLE', 'WEB01');
    assert.equal(context.seal(hex(request.plain)).verifier.length, 56);
    assert.equal(
      context.unseal(hex(response.sealed), hex(response.verifier)).toString('hex'),
      response.plain,
    );
    assert.throws(() => context.unseal(hex(response.sealed), hex(response.verifier)), RpcProtocolError);
    assert.deepEqual(context.bindToken(), Buffer.from('00000000030000004558414d504c4500574542303100', 'hex'));
  });
});

describe('NetrLogonSamLogonEx (captured from Samba)', () => {
  const logon = fixture.samLogonEx.logon;
  const params = {
    ...logon,
    lmChallenge: hex(logon.lmChallenge),
    ntChallengeResponse: hex(logon.ntChallengeResponse),
    lmChallengeResponse: hex(logon.lmChallengeResponse),
  };

  it('marshals the request as the DC accepted it (then padded to 16)', () => {
    const stub = encodeSamLogonEx('WEB01', params);
    const padded = Buffer.concat([stub, Buffer.alloc((16 - (stub.length % 16)) % 16)]);
    assert.equal(padded.toString('hex'), request.plain);
  });

  it('reads the DC’s NETLOGON_VALIDATION_SAM_INFO4 for alice', async () => {
    const plain = hex(response.plain);
    // The verifier trailer's auth_pad_length is not part of this record: strip the zero padding
    // the way the connection does, by trying the lengths NDR allows.
    let answer: ReturnType<typeof decodeSamLogonEx> | undefined;
    for (let pad = 0; pad < 16 && !answer; pad++) {
      try {
        answer = decodeSamLogonEx(plain.subarray(0, plain.length - pad));
      } catch {}
    }
    assert.ok(answer);
    assert.equal(answer.status, 0);
    const info = answer.validation!;
    assert.equal(info.effectiveName, 'alice');
    assert.equal(info.fullName, 'Alice');
    assert.equal(info.logonDomainName, 'EXAMPLE');
    assert.equal(info.dnsLogonDomainName, 'example.test');
    assert.equal(info.upn, 'alice@example.test');
    assert.equal(info.primaryGroupId, 513);
    assert.deepEqual(
      info.groupIds.map((g) => g.relativeId),
      [513, info.groupIds[1]!.relativeId],
    );
    const { sid, groupSids } = samInfoSids(info);
    assert.equal(sid, `${info.logonDomainId}-${info.userId}`);
    assert.equal(groupSids.length, 2);
    // UserSessionKey is NTLMv2's SessionBaseKey: HMAC-MD5(ResponseKeyNT, NTProofStr), MS-NLMP 3.3.2.
    const responseKeyNT = ntowfv2(await ntowfv1('Alice-Passw0rd!'), 'alice', 'EXAMPLE');
    assert.deepEqual(
      info.userSessionKey,
      sessionBaseKeyV2(responseKeyNT, params.ntChallengeResponse.subarray(0, 16)),
    );
  });

  it('fails on every truncation of the DC’s answer with a DC error, never a crash', () => {
    const plain = hex(response.plain);
    for (let cut = 0; cut < plain.length - 16; cut += 5) {
      assert.throws(
        () => decodeSamLogonEx(plain.subarray(0, cut)),
        { code: 'ERR_NTLM_DC_ERROR' },
        `cut ${cut}`,
      );
    }
  });
});
