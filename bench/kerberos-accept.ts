// Accepts per second of kerberosAcceptor() for the saved curl token (aes256 ticket with a PAC),
// in one process, sequentially: `node --import tsx bench/kerberos-accept.ts [seconds]`.
// The token is the same every time, so the replay cache is replaced by a store that never
// refuses; the in-process cache's own cost (its key, the authenticator's checksum, and a Map insert) is measured on its own line.
import { readFileSync } from 'node:fs';
import { kerberosAcceptor } from '../src/kerberos/acceptor.js';
import { ReplayCache } from '../src/kerberos/replay-cache.js';
import { decodeSpnego } from '../src/negotiate/spnego.js';
import type { Store } from '../src/store/store.js';

const fixtures = new URL('../test/fixtures/kerberos/', import.meta.url);
const header = readFileSync(new URL('curl-negotiate-token.b64', fixtures), 'utf8').trim();
const seconds = Number(process.argv[2] ?? 3);

const alwaysNew: Store = {
  get: async () => undefined,
  set: async () => {},
  delete: async () => {},
  setIfAbsent: async () => true,
};
const acceptor = kerberosAcceptor({
  keytab: readFileSync(new URL('http.keytab', fixtures)),
  now: () => Date.parse('2026-11-23T13:11:00Z'),
  replayStore: alwaysNew,
  // This process counts what it puts in a shared store, and the clock stands still.
  maxReplayEntries: 1e9,
  maxReplayEntriesPerClient: 1e9,
});

async function measure(name: string, once: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) await once(); // warm-up (JIT, derived-key cache)
  let count = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < end) {
    await once();
    count++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${name}: ${Math.round(count / elapsed)}/s (${((elapsed / count) * 1e6).toFixed(1)} µs each, ${count} runs)`,
  );
}

// From the HTTP header on: base64, SPNEGO, GSS, AP-REQ, two decryptions, PAC signature and NDR, AP-REP.
await measure('accept (header → identity + AP-REP)', async () => {
  const init = decodeSpnego(Buffer.from(header, 'base64'));
  if (init.kind !== 'init' || !init.mechToken) throw new Error('not a NegTokenInit');
  await acceptor.accept(init.mechToken);
});
const cache = new ReplayCache({ store: undefined, maxClockSkewMs: 300_000, maxEntries: 1e9, now: Date.now });
const authenticatorCipher = Buffer.alloc(96);
let n = 0;
await measure('replay cache (in process)', async () => {
  authenticatorCipher.writeUInt32BE(n++);
  return cache.admit({
    client: 'alice@EXAMPLE.TEST',
    server: 'HTTP/localhost@EXAMPLE.TEST',
    ctime: new Date(),
    cusec: 0,
    authenticatorCipher,
    authenticatorEtype: 18,
  });
});
