import type { RpcConnection } from './connection.js';
import { NdrReader, NdrWriter } from './ndr.js';
import { encodeSyntax, NDR20, RpcProtocolError, type SyntaxId } from './pdu.js';

/**
 * The endpoint mapper (C706 appendix L, MS-RPCE 2.2.1.2.5 / 3.3.3.2.2): on TCP 135, `ept_map`
 * answers which TCP port serves an interface. We ask with a tower of five floors (interface,
 * NDR20, connection-oriented RPC, TCP, IP) and read the port from the TCP floor of the answer.
 */
export const EPM_INTERFACE: SyntaxId = { uuid: 'e1af8308-5d1f-11c9-91a4-08002b14a0fa', major: 3, minor: 0 };
export const EPM_PORT = 135;
const OPNUM_EPT_MAP = 3;
const MAX_TOWERS = 4;

const Protocol = { uuid: 0x0d, connectionOriented: 0x0b, tcp: 0x07, ip: 0x09 } as const;

function floor(lhs: Buffer, rhs: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16LE(lhs.length);
  const mid = Buffer.alloc(2);
  mid.writeUInt16LE(rhs.length);
  return Buffer.concat([head, lhs, mid, rhs]);
}

/** The tower for `interface` over ncacn_ip_tcp, port and address left zero (C706 appendix L). */
export function encodeTower(iface: SyntaxId): Buffer {
  const syntaxFloor = (syntax: SyntaxId) => {
    const bytes = encodeSyntax(syntax); // uuid(16) major(2) minor(2)
    return floor(
      Buffer.concat([Buffer.from([Protocol.uuid]), bytes.subarray(0, 18)]),
      bytes.subarray(18, 20),
    );
  };
  const count = Buffer.alloc(2);
  count.writeUInt16LE(5);
  return Buffer.concat([
    count,
    syntaxFloor(iface),
    syntaxFloor(NDR20),
    floor(Buffer.from([Protocol.connectionOriented]), Buffer.alloc(2)),
    floor(Buffer.from([Protocol.tcp]), Buffer.alloc(2)),
    floor(Buffer.from([Protocol.ip]), Buffer.alloc(4)),
  ]);
}

/** The TCP port in a tower's TCP floor (big-endian), or undefined when the tower has none. */
export function towerTcpPort(tower: Buffer): number | undefined {
  if (tower.length < 2) throw new RpcProtocolError('tower shorter than its floor count');
  const floors = tower.readUInt16LE(0);
  let offset = 2;
  for (let i = 0; i < floors; i++) {
    if (offset + 2 > tower.length) throw new RpcProtocolError('tower floor runs past the tower');
    const lhsLength = tower.readUInt16LE(offset);
    const lhs = tower.subarray(offset + 2, offset + 2 + lhsLength);
    offset += 2 + lhsLength;
    if (lhs.length !== lhsLength || offset + 2 > tower.length)
      throw new RpcProtocolError('tower floor runs past the tower');
    const rhsLength = tower.readUInt16LE(offset);
    const rhs = tower.subarray(offset + 2, offset + 2 + rhsLength);
    offset += 2 + rhsLength;
    if (rhs.length !== rhsLength) throw new RpcProtocolError('tower floor runs past the tower');
    if (lhsLength === 1 && lhs[0] === Protocol.tcp && rhsLength === 2) return rhs.readUInt16BE(0);
  }
  return undefined;
}

export function encodeEptMapRequest(iface: SyntaxId): Buffer {
  const tower = encodeTower(iface);
  const w = new NdrWriter();
  w.pointer(() => w.bytes(Buffer.alloc(16))); // object: the nil UUID
  w.pointer(() => {
    // twr_t, a conformant structure: the hoisted size, tower_length, the octets.
    w.u32(tower.length);
    w.u32(tower.length);
    w.bytes(tower);
  });
  w.bytes(Buffer.alloc(20)); // entry_handle: a nil context handle
  w.u32(MAX_TOWERS);
  return w.toBuffer();
}

/** The ports of the towers in an ept_map answer; fails on a non-zero status. */
export function decodeEptMapResponse(stub: Buffer): number[] {
  const r = new NdrReader(stub, (message) => new RpcProtocolError(`ept_map answer: ${message}`));
  r.bytes(20, 'entry_handle');
  const count = r.u32();
  const towers = r.construct(() => {
    const { actual } = r.varyingCounts(4, 'towers');
    if (actual !== count) throw r.error(`${actual} towers where num_towers says ${count}`);
    const pointers = [];
    for (let i = 0; i < actual; i++) {
      pointers.push(
        r.pointer(() => {
          const size = r.u32();
          const length = r.u32();
          if (length !== size) throw r.error(`tower_length ${length}, conformance ${size}`);
          return r.bytes(r.checkCount(length, 1, 'tower'), 'tower');
        }),
      );
    }
    return pointers;
  });
  const status = r.u32();
  r.end('ept_map');
  if (status !== 0)
    throw new RpcProtocolError(`ept_map: status 0x${status.toString(16)} (interface not registered?)`);
  const ports: number[] = [];
  for (const tower of towers) {
    const port = tower.value && towerTcpPort(tower.value);
    if (port) ports.push(port);
  }
  return ports;
}

/** Asks the endpoint mapper on `connection` (already open to port 135) for `iface`'s TCP port. */
export async function eptMap(connection: RpcConnection, iface: SyntaxId): Promise<number> {
  await connection.bind(EPM_INTERFACE);
  const ports = decodeEptMapResponse(await connection.call(OPNUM_EPT_MAP, encodeEptMapRequest(iface)));
  const port = ports[0];
  if (port === undefined)
    throw new RpcProtocolError(`the endpoint mapper knows no TCP port for ${iface.uuid}`);
  return port;
}
