// The fuzz's input families: each makes one input from its own random stream and sends it, with
// whatever legs lead up to it, through a Target (the middleware's decision path). NDR alone goes
// to the decoders directly (see `ndr`).
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isNtlmError } from '../../src/errors.js';
import { decodeSpnego, encodeNegTokenInit, encodeNegTokenResp, MechOid } from '../../src/negotiate/spnego.js';
import { decodeAuthenticate3, decodeReqChallenge, decodeSamLogonEx } from '../../src/netlogon/calls.js';
import { unsealAes } from '../../src/netlogon/crypto.js';
import { logonFailure } from '../../src/netlogon/status.js';
import { samInfoSids } from '../../src/netlogon/validation-info.js';
import { ntlmMac } from '../../src/ntlm/signing.js';
import { decodePdu, RpcFault, RpcProtocolError } from '../../src/rpc/pdu.js';
import { type ClientCredentials, type1, type3 } from '../helpers/ntlm-client.js';
import { bearerInput } from './bearer-inputs.js';
import { mutateBytes } from './bytes.js';
import { mutateDer } from './der-tree.js';
import { type KerberosInputs, type KerberosLayer, mutatePac } from './kerberos-inputs.js';
import { mutateNdr } from './ndr-inputs.js';
import { breakLayout, editType3, negotiateInput } from './ntlm-inputs.js';
import type { Random } from './random.js';
import type { Answer, Target } from './target.js';

export const BEARER_SECRET = 'fuzz-secret-of-at-least-32-bytes-0123456789';

/** What the families share: the targets and the seeds made at start-up. */
export interface FuzzContext {
  /** Local directory (alice, bob, carol) with Kerberos from the fixture keytab and Bearer tokens. */
  readonly local: Target;
  /** The Netlogon verifier against the real Samba DC, when it runs. */
  readonly netlogon: Target | undefined;
  readonly kerberos: KerberosInputs;
  /** A Bearer token the local target issued to alice. */
  readonly bearerSeed: string;
}

/** One input's result: the answer to the input itself, any answer to the legs before it, and its bytes. */
export interface InputResult {
  /** A finer name of what was mutated (the layer, the leg). */
  readonly kind: string;
  readonly answer: Answer;
  /** Answers to the unmutated legs that led to the input (a NEGOTIATE before a mutated AUTHENTICATE). */
  readonly legs: readonly Answer[];
  /** The input as sent: the Authorization (or Cookie) header value, or the stub's hex for NDR. */
  readonly input: string;
}

export interface Family {
  readonly name: string;
  /** Decoders only: answers are the decoder's verdict (its error's status), not a response. */
  readonly decoderOnly?: boolean;
  run(random: Random, context: FuzzContext): Promise<InputResult>;
}

const ALICE: ClientCredentials = { user: 'alice', domain: 'EXAMPLE', password: 'Alice-Passw0rd!' };
const CREDENTIALS: readonly (readonly [number, ClientCredentials])[] = [
  [6, ALICE],
  [1, { ...ALICE, password: 'wrong-password' }],
  [1, { user: 'bob', domain: 'EXAMPLE', password: 'Bob-Passw0rd!' }],
  [1, { user: 'carol', domain: 'EXAMPLE', password: 'Carol-Passw0rd!' }],
];

const b64 = (bytes: Buffer) => bytes.toString('base64');

/** Sends on a connection of its own, closed afterwards (its pending handshake dropped with it). */
async function onConnection<T>(target: Target, work: (socket: Socket) => Promise<T>): Promise<T> {
  const socket = target.connection();
  try {
    return await work(socket);
  } finally {
    socket.destroy();
  }
}

/** The CHALLENGE in a 401 leg (`NTLM <b64>` or `Negotiate <b64>`), if the answer is one. */
function legToken(answer: Answer): Buffer | undefined {
  const decision = answer.decision;
  if (decision?.kind !== 'challenge' || decision.offers.length !== 1) return undefined;
  const [, token] = decision.offers[0]!.split(' ');
  return token ? Buffer.from(token, 'base64') : undefined;
}

/** Headers that are not tokens at all: no token, not base64, too long, odd schemes. */
function oddHeader(random: Random): string {
  return random.pick([
    'NTLM',
    'NTLM ',
    'Negotiate',
    'NTLM ====',
    'NTLM TlRMTVNTUAAB',
    'NTLM a',
    'Negotiate a b',
    `NTLM ${'A'.repeat(random.range(3000, 70000))}`,
    `Negotiate ${'YII'.repeat(random.range(1, 30000))}`,
    'ntlm TlRMTVNTUAABAAAA',
    'Basic YWxpY2U6cHc=',
    'Bearer',
    '\tNTLM\tTlRMTVNTUAA=',
    `NTLM ${Buffer.from('NTLMSSP\0').toString('base64')}`,
    'Negotiate oQcwBaADCgEA',
    `${random.bytes(8).toString('latin1')} x`,
  ]);
}

const ntlmNegotiate: Family = {
  name: 'ntlm-negotiate',
  run: (random, { local }) =>
    onConnection(local, async (socket) => {
      if (random.chance(0.1)) {
        const authorization = oddHeader(random);
        return {
          kind: 'header',
          answer: await local.send(socket, { authorization }),
          legs: [],
          input: authorization,
        };
      }
      const scheme = random.chance(0.7) ? 'NTLM' : 'Negotiate';
      const authorization = `${scheme} ${b64(negotiateInput(random))}`;
      return {
        kind: scheme,
        answer: await local.send(socket, { authorization }),
        legs: [],
        input: authorization,
      };
    }),
};

const CLIENT_TOKENS = Object.values(
  JSON.parse(readFileSync(new URL('../fixtures/client-tokens.json', import.meta.url), 'utf8')) as Record<
    string,
    { authenticate: string }
  >,
).map((capture) => Buffer.from(capture.authenticate, 'base64'));

/** NEGOTIATE, then a mutated AUTHENTICATE, on one connection of `target`. */
async function ntlmLogon(random: Random, target: Target, scheme: 'NTLM' | 'Negotiate'): Promise<InputResult> {
  return onConnection(target, async (socket) => {
    const negotiate = type1();
    const first = await target.send(socket, { authorization: `${scheme} ${b64(negotiate)}` });
    const challenge = legToken(first);
    if (!challenge) return { kind: 'negotiate-refused', answer: first, legs: [], input: b64(negotiate) };
    const credentials = random.weighted(CREDENTIALS);
    let kind: string;
    let token: Buffer;
    const choice = random.int(20);
    if (choice < 2) {
      kind = 'captured-client';
      token = breakLayout(random, random.pick(CLIENT_TOKENS));
    } else if (choice < 3) {
      kind = 'valid';
      token = await type3(negotiate, challenge, credentials);
    } else {
      const edited = choice < 15;
      const broken = choice >= 11;
      kind = edited && broken ? 'edited+layout' : edited ? 'edited' : 'layout';
      token = await type3(negotiate, challenge, credentials, {
        mic: random.chance(0.8),
        edit: edited ? editType3(random) : undefined,
      });
      if (broken) token = breakLayout(random, token);
    }
    const authorization = `${scheme} ${b64(token)}`;
    return {
      kind,
      answer: await target.send(socket, { authorization }),
      legs: [first],
      input: authorization,
    };
  });
}

const ntlmAuthenticate: Family = {
  name: 'ntlm-authenticate',
  run: (random, { local }) => ntlmLogon(random, local, random.chance(0.85) ? 'NTLM' : 'Negotiate'),
};

/** SPNEGO around NTLM (NegTokenInit, then NegTokenResp with the AUTHENTICATE and a mechListMIC). */
async function spnegoLogon(random: Random, target: Target): Promise<InputResult> {
  return onConnection(target, async (socket) => {
    const negotiate = type1();
    // NTLMSSP first, or after NEGOEX (then a mechListMIC is required, RFC 4178 5).
    const mechTypes = random.chance(0.6) ? [MechOid.NTLMSSP] : [MechOid.NEGOEX, MechOid.NTLMSSP];
    let init = encodeNegTokenInit({ mechTypes, mechToken: mechTypes.length === 1 ? negotiate : undefined });
    if (random.chance(0.35)) {
      init = random.chance(0.8) ? mutateDer(random, init) : mutateBytes(random, init, 3);
      const authorization = `Negotiate ${b64(init)}`;
      return {
        kind: 'init',
        answer: await target.send(socket, { authorization }),
        legs: [],
        input: authorization,
      };
    }
    const legs: Answer[] = [];
    let answer = await target.send(socket, { authorization: `Negotiate ${b64(init)}` });
    legs.push(answer);
    if (mechTypes.length === 2) {
      const resp = legToken(answer);
      if (!resp) return { kind: 'init-refused', answer, legs: [], input: b64(init) };
      answer = await target.send(socket, {
        authorization: `Negotiate ${b64(encodeNegTokenResp({ responseToken: negotiate }))}`,
      });
      legs.push(answer);
    }
    const resp = legToken(answer);
    const spnego = resp ? decodeSpnego(resp) : undefined;
    const challenge = spnego?.kind === 'resp' ? spnego.responseToken : undefined;
    if (!challenge) return { kind: 'challenge-missing', answer, legs: [], input: b64(init) };
    let exportedKey: Buffer | undefined;
    const edited = random.chance(0.3);
    const token = await type3(negotiate, challenge, random.weighted(CREDENTIALS), {
      onExportedKey: (key) => {
        exportedKey = key;
      },
      edit: edited ? editType3(random) : undefined,
    });
    const flags = token.readUInt32LE(60);
    const mechTypesDer = decodeSpnegoMechTypes(init);
    const mechListMIC =
      exportedKey && random.chance(0.9)
        ? ntlmMac(exportedKey, flags, 'client-to-server', mechTypesDer)
        : undefined;
    let final = encodeNegTokenResp({ responseToken: token, mechListMIC });
    const mutated = !edited || random.chance(0.5);
    if (mutated) final = random.chance(0.8) ? mutateDer(random, final) : mutateBytes(random, final, 3);
    const authorization = `Negotiate ${b64(final)}`;
    return {
      kind: edited ? (mutated ? 'resp-edited+der' : 'resp-edited') : 'resp-der',
      answer: await target.send(socket, { authorization }),
      legs,
      input: authorization,
    };
  });
}

function decodeSpnegoMechTypes(init: Buffer): Buffer {
  const decoded = decodeSpnego(init);
  return decoded.kind === 'init' ? decoded.mechTypesDer : Buffer.alloc(0);
}

const spnegoNtlm: Family = { name: 'spnego-ntlm', run: (random, { local }) => spnegoLogon(random, local) };

const LAYERS: readonly (readonly [number, KerberosLayer])[] = [
  [1, 'none'],
  [4, 'spnego'],
  [4, 'ap-req'],
  [1, 'gss'],
  [1, 'bare-krb5'],
  [5, 'ticket'],
  [5, 'authenticator'],
];

const kerberos: Family = {
  name: 'kerberos',
  run: (random, { local, kerberos: inputs }) =>
    onConnection(local, async (socket) => {
      const layer = random.weighted(LAYERS);
      const authorization = `Negotiate ${b64(inputs.input(random, layer))}`;
      return {
        kind: layer,
        answer: await local.send(socket, { authorization }),
        legs: [],
        input: authorization,
      };
    }),
};

const pac: Family = {
  name: 'pac',
  run: (random, { local, kerberos: inputs }) =>
    onConnection(local, async (socket) => {
      const mutated = mutatePac(random, inputs.pac);
      const signed = random.chance(0.85);
      const authorization = `Negotiate ${b64(inputs.withPac(signed ? inputs.sign(mutated) : mutated))}`;
      return {
        kind: signed ? 're-signed' : 'unsigned',
        answer: await local.send(socket, { authorization }),
        legs: [],
        input: authorization,
      };
    }),
};

const bearer: Family = {
  name: 'bearer',
  run: (random, { local, bearerSeed }) =>
    onConnection(local, async (socket) => {
      const token = bearerInput(random, bearerSeed, BEARER_SECRET);
      const inCookie = random.chance(0.2);
      const headers = inCookie
        ? { cookie: `other=1; ntlm_sso_token=${token}` }
        : { authorization: `${random.pick(['Bearer', 'bearer', 'BEARER'])} ${token}` };
      return {
        kind: inCookie ? 'cookie' : 'header',
        answer: await local.send(socket, headers),
        legs: [],
        input: inCookie ? headers.cookie! : headers.authorization!,
      };
    }),
};

const capture = JSON.parse(
  readFileSync(new URL('../fixtures/netlogon-capture.json', import.meta.url), 'utf8'),
);
const SESSION_KEY = Buffer.from(capture.authenticate3.sessionKey, 'hex');
const SAMLOGON_ANSWER = capture.samLogonEx.pdus.find(
  (p: { direction: string }) => p.direction === 'response',
);
const NDR_SEEDS = {
  samLogonEx: Buffer.from(SAMLOGON_ANSWER.plain, 'hex'),
  reqChallenge: Buffer.from(capture.authenticate3.stubs.opnum4Response, 'hex'),
  authenticate3: Buffer.from(capture.authenticate3.stubs.opnum26Response, 'hex'),
  sealed: Buffer.from(SAMLOGON_ANSWER.sealed, 'hex'),
  verifier: Buffer.from(SAMLOGON_ANSWER.verifier, 'hex'),
};

/**
 * The Samba DC's own answers (test/fixtures/netlogon-capture.json), mutated and fed to the
 * decoders in the order the verifier uses them: NetrLogonSamLogonEx's stub (NDR, SAM_INFO4), the
 * status it maps to, the SIDs; the sealed PDU's unsealing; the secure channel's set-up answers.
 * Not through the authenticator: a garbled answer from a DC is rightly a 503 that takes the DC
 * out of rotation, after which nothing would reach the decoder for seconds.
 */
const ndr: Family = {
  name: 'ndr',
  decoderOnly: true,
  async run(random) {
    const which = random.weighted([
      [7, 'samLogonEx'],
      [1, 'reqChallenge'],
      [1, 'authenticate3'],
      [1, 'sealed'],
    ] as const);
    const seed = NDR_SEEDS[which];
    const stub = which === 'samLogonEx' ? mutateNdr(random, seed) : mutateBytes(random, seed, 3);
    try {
      if (which === 'samLogonEx') {
        const result = decodeSamLogonEx(stub);
        if (result.status !== 0) throw logonFailure(result.status, '127.0.0.1', 'alice');
        const info = result.validation;
        if (info?.effectiveName && info.logonDomainId) samInfoSids(info);
      } else if (which === 'reqChallenge') decodeReqChallenge(stub);
      else if (which === 'authenticate3') decodeAuthenticate3(stub);
      else {
        const verifier = random.chance(0.5) ? mutateBytes(random, NDR_SEEDS.verifier, 2) : NDR_SEEDS.verifier;
        const changed = !stub.equals(NDR_SEEDS.sealed) || !verifier.equals(NDR_SEEDS.verifier);
        if (changed && unsealAes(SESSION_KEY, 1n, stub, verifier) !== undefined)
          throw new Error('a mutated PDU unsealed');
        decodePdu(stub);
      }
      return { kind: which, answer: { status: 200 }, legs: [], input: stub.toString('hex') };
    } catch (error) {
      const typed = isNtlmError(error) || error instanceof RpcProtocolError || error instanceof RpcFault;
      const answer: Answer = typed
        ? {
            status: isNtlmError(error) ? error.statusCode : 400,
            code: (error as { code?: string }).code ?? 'RPC_PROTOCOL',
          }
        : { status: 'crash', code: (error as Error).stack };
      return { kind: which, answer, legs: [], input: stub.toString('hex') };
    }
  },
};

const netlogon: Family = {
  name: 'netlogon',
  run: (random, { netlogon: target }) => {
    if (!target) throw new Error('the netlogon family needs the Samba DC');
    return random.chance(0.85) ? ntlmLogon(random, target, 'NTLM') : spnegoLogon(random, target);
  },
};

export const FAMILIES: readonly Family[] = [
  ntlmNegotiate,
  ntlmAuthenticate,
  spnegoNtlm,
  kerberos,
  pac,
  bearer,
  ndr,
  netlogon,
];
