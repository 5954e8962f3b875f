// A DNS server on the address /etc/resolv.conf names, inside the test's network namespace: what
// node's default resolver (and so `kdc: 'auto'`, which names no DNS server) asks. It answers SRV
// and A records from a table, or nothing at all (`silent`), and records every question.
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DnsRecords {
  /** `_kerberos._tcp.example.test` → its SRV targets. */
  readonly srv?: Record<string, readonly { target: string; port: number }[]>;
  /** `kdc.example.test` → its IPv4 address. */
  readonly a?: Record<string, string>;
}

const TYPE = { A: 1, SRV: 33 } as const;
const NAMES: Record<number, string> = { 1: 'A', 28: 'AAAA', 33: 'SRV' };

/** Why the system's resolver cannot be stood in for here, or undefined when it can. */
export function systemDnsMissing(): string | undefined {
  if (!process.env.NTLM_SSO_TEST_NETNS) return 'not in a network namespace of its own (test/run.sh)';
  if (!systemNameserver()) return '/etc/resolv.conf names no IPv4 nameserver';
  return undefined;
}

function systemNameserver(): string | undefined {
  return /^nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/m.exec(readFileSync('/etc/resolv.conf', 'utf8'))?.[1];
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  return Buffer.concat([
    ...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')])),
    Buffer.from([0]),
  ]);
}

function readName(message: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  while (message[at]! !== 0) {
    labels.push(message.toString('ascii', at + 1, at + 1 + message[at]!));
    at += 1 + message[at]!;
  }
  return { name: labels.join('.').toLowerCase(), end: at + 1 };
}

function answer(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // the question's name
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4); // IN
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function answersFor(records: DnsRecords, name: string, type: number): Buffer[] {
  if (type === TYPE.SRV) {
    return (records.srv?.[name] ?? []).map(({ target, port }) => {
      const fixed = Buffer.alloc(6);
      fixed.writeUInt16BE(0, 0);
      fixed.writeUInt16BE(100, 2);
      fixed.writeUInt16BE(port, 4);
      return answer(type, Buffer.concat([fixed, encodeName(target)]));
    });
  }
  const address = type === TYPE.A ? records.a?.[name] : undefined;
  return address ? [answer(type, Buffer.from(address.split('.').map(Number)))] : [];
}

/** Listens on the system's nameserver address (added to `lo` of this namespace when need be). */
export async function systemDnsServer(records: DnsRecords, options: { silent?: boolean } = {}) {
  const address = systemNameserver()!;
  const added = !address.startsWith('127.');
  if (added) await run('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
  const questions: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, peer) => {
    const { name, end } = readName(message, 12);
    const type = message.readUInt16BE(end);
    questions.push(`${NAMES[type] ?? type} ${name}`);
    if (options.silent) return;
    const answers = answersFor(records, name, type);
    const head = Buffer.from(message.subarray(0, 12));
    head.writeUInt16BE(answers.length > 0 ? 0x8580 : 0x8583, 2); // QR AA RD RA; NXDOMAIN when none
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(answers.length, 6);
    head.writeUInt32BE(0, 8);
    socket.send(Buffer.concat([head, message.subarray(12, end + 4), ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, address, () => resolve());
  });
  return {
    questions,
    close: async () => {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      if (added) await run('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']);
    },
  };
}
