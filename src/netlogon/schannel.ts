import type { SecurityContext } from '../rpc/connection.js';
import { AuthLevel, AuthType, RpcProtocolError } from '../rpc/pdu.js';
import { AES_VERIFIER_LENGTH, sealAes, unsealAes } from './crypto.js';

/**
 * The Netlogon secure channel as a DCE/RPC security provider (auth type 0x44, MS-NRPC 3.3):
 * the bind carries NL_AUTH_MESSAGE, every request and response is sealed (PKT_PRIVACY, the only
 * level a hardened DC accepts, and the only one we offer) with the AES verifier.
 *
 * One sequence counter for both directions, as Samba and Windows keep it: each sealed request
 * and each unsealed response advances it by one.
 */

/** NL_AUTH_MESSAGE (MS-NRPC 2.2.1.3.1) of the bind: MessageType 0, OEM NetBIOS domain and computer names. */
export function encodeNlAuthNegotiate(domain: string, computerName: string): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0, 0); // NL_NEGOTIATE_REQUEST
  head.writeUInt32LE(0x1 | 0x2, 4); // NETBIOS_DOMAIN_NAME | NETBIOS_COMPUTER_NAME (OEM, NUL-terminated)
  return Buffer.concat([head, Buffer.from(`${domain}\0${computerName}\0`, 'latin1')]);
}

export class SchannelContext implements SecurityContext {
  readonly authType = AuthType.netlogon;
  readonly authLevel = AuthLevel.packetPrivacy;
  readonly verifierLength = AES_VERIFIER_LENGTH;
  #counter = 0n;

  constructor(
    private readonly sessionKey: Buffer,
    private readonly domain: string,
    private readonly computerName: string,
  ) {}

  bindToken(): Buffer {
    return encodeNlAuthNegotiate(this.domain, this.computerName);
  }

  acceptBindAck(token: Buffer): void {
    // NL_AUTH_MESSAGE with MessageType 1 (NL_NEGOTIATE_RESPONSE).
    if (token.length < 8 || token.readUInt32LE(0) !== 1) {
      throw new RpcProtocolError('schannel bind not accepted (no NL_NEGOTIATE_RESPONSE)');
    }
  }

  seal(stub: Buffer): { sealed: Buffer; verifier: Buffer } {
    const sealed = sealAes(this.sessionKey, this.#counter, stub);
    this.#counter++;
    return sealed;
  }

  unseal(sealed: Buffer, verifier: Buffer): Buffer {
    const plain = unsealAes(this.sessionKey, this.#counter, sealed, verifier);
    if (!plain)
      throw new RpcProtocolError('the server verifier does not verify (checksum or sequence number)');
    this.#counter++;
    return plain;
  }
}
