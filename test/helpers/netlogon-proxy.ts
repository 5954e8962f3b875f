// A man in the middle between a Netlogon verifier and the DC's netlogon port, for tests: it
// forwards every connection, can cut them all (a reset the verifier must survive), records the
// first sealed answer it sees, and can replay that answer into the next sealed connection's first
// call instead of forwarding it (issue 18: a recorded NetrLogonSamLogonEx answer for alice,
// replayed into a new channel, logged a wrong password in as alice).
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

const BIND = 11;
const REQUEST = 0;
const RESPONSE = 2;
const LAST_FRAG = 0x02;

/** Splits a byte stream into DCE/RPC PDUs (frag_length at offset 8). */
function pduReader(onPdu: (pdu: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 10) {
      const length = buffered.readUInt16LE(8);
      if (buffered.length < length) return;
      onPdu(buffered.subarray(0, length));
      buffered = buffered.subarray(length);
    }
  };
}

const type = (pdu: Buffer) => pdu[2]!;
const authLength = (pdu: Buffer) => pdu.readUInt16LE(10);
const callId = (pdu: Buffer) => pdu.readUInt32LE(12);
/** A request's opnum, in its header after the common one (alloc_hint, p_cont_id). */
const opnum = (pdu: Buffer) => pdu.readUInt16LE(22);
const NETR_SERVER_AUTHENTICATE3 = 26;

export async function netlogonProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let recording = false;
  let recorded: Buffer[] | undefined;
  let replayNext = false;
  let replayed = 0;
  let sealedConnections = 0;
  let authenticate3Calls = 0;
  let answerDelayMs = 0;

  const server = createServer((client) => {
    const upstream = connect(target);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    let sealed = false;
    let firstCall: number | undefined;
    let replayHere = false;
    let recordHere = false;
    const answer: Buffer[] = [];

    client.on(
      'data',
      pduReader((pdu) => {
        if (type(pdu) === BIND && authLength(pdu) > 0) {
          sealed = true;
          sealedConnections++;
          recordHere = recording && recorded === undefined;
          replayHere = replayNext;
          replayNext = false;
        }
        if (!sealed && type(pdu) === REQUEST && opnum(pdu) === NETR_SERVER_AUTHENTICATE3)
          authenticate3Calls++;
        if (sealed && type(pdu) === REQUEST && firstCall === undefined) {
          firstCall = callId(pdu);
          if (replayHere && recorded) {
            replayed++;
            for (const part of recorded) {
              const copy = Buffer.from(part);
              copy.writeUInt32LE(firstCall, 12);
              client.write(copy);
            }
            return;
          }
        }
        upstream.write(pdu);
      }),
    );
    upstream.on(
      'data',
      pduReader((pdu) => {
        if (recordHere && type(pdu) === RESPONSE && callId(pdu) === firstCall) {
          answer.push(Buffer.from(pdu));
          if (pdu[3]! & LAST_FRAG) {
            recorded = answer;
            recordHere = false;
          }
        }
        if (answerDelayMs === 0) client.write(pdu);
        else {
          const copy = Buffer.from(pdu);
          setTimeout(() => client.writable && client.write(copy), answerDelayMs);
        }
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    /** Holds every answer of the DC this long: a DC slow rather than silent. */
    slowDown(ms: number): void {
      answerDelayMs = ms;
    },
    /** Records the answer to the first call on the next sealed connection. */
    record(): void {
      recording = true;
    },
    get recorded(): boolean {
      return recorded !== undefined;
    },
    /** The next sealed connection's first call gets the recorded answer; the DC never sees the call. */
    replayIntoNextChannel(): void {
      replayNext = true;
    },
    /** Recorded answers delivered so far. */
    get replayed(): number {
      return replayed;
    },
    /** Schannel binds seen so far. */
    get sealedConnections(): number {
      return sealedConnections;
    },
    /** NetrServerAuthenticate3 calls seen so far (each agrees a session key). */
    get authenticate3Calls(): number {
      return authenticate3Calls;
    },
    /** Cuts every connection open now, as a man in the middle resetting them would. */
    resetConnections(): void {
      for (const socket of sockets) socket.destroy();
    },
    close(): void {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
