import { sidToString } from '../dc/sid.js';
import { InvalidTokenError } from '../errors.js';
import { readSamInfoPrefix, type SamInfo } from '../netlogon/validation-info.js';
import { NdrReader } from '../rpc/ndr.js';

/**
 * The PAC's LOGON_INFO buffer (MS-PAC 2.5): a KERB_VALIDATION_INFO in NDR type serialization
 * version 1 (MS-RPCE 2.2.6). Its layout up to ExtraSids is the Netlogon SAM_INFO's, so it is read
 * by the same code (src/netlogon/validation-info.ts); the resource group fields follow.
 */

export interface KerbValidationInfo extends SamInfo {
  readonly resourceGroupDomainSid: string | null;
  readonly resourceGroupIds: readonly { relativeId: number; attributes: number }[];
}

/** LOGON_RESOURCE_GROUPS (MS-PAC 2.5 UserFlags): the resource group fields are meaningful. */
export const LOGON_RESOURCE_GROUPS = 0x200;

const pacError = (message: string) =>
  new InvalidTokenError(`PAC LOGON_INFO: ${message}`, 'ERR_KRB_INVALID_TOKEN');

export function decodeLogonInfo(buffer: Buffer): KerbValidationInfo {
  // Common header (MS-RPCE 2.2.6.1): version 1, little-endian (0x10), length 8, filler 0xCCCCCCCC.
  if (buffer.length < 16) throw pacError('shorter than its serialization headers');
  if (buffer[0] !== 1 || buffer[1] !== 0x10 || buffer.readUInt16LE(2) !== 8) {
    throw pacError('not NDR type serialization version 1, little-endian');
  }
  // Private header (2.2.6.2): the length of the serialized object, a multiple of 8.
  const objectLength = buffer.readUInt32LE(8);
  if (objectLength > buffer.length - 16 || objectLength % 8 !== 0) {
    throw pacError(`object length ${objectLength} does not fit the ${buffer.length - 16} bytes that follow`);
  }
  const r = new NdrReader(buffer.subarray(16, 16 + objectLength), pacError);
  const info = r.construct(() => {
    if (r.u32() === 0) throw pacError('NULL KERB_VALIDATION_INFO pointer');
    const prefix = readSamInfoPrefix(r);
    const resourceDomain = r.pointer(() => r.sid('ResourceGroupDomainSid'));
    const resourceCount = r.u32();
    const resourceGroups = r.pointer(() =>
      r.conformantArray(
        () => ({ relativeId: r.u32(), attributes: r.u32() }),
        8,
        'ResourceGroupIds',
        resourceCount,
      ),
    );
    return () => {
      const domain = resourceDomain.value;
      return {
        ...prefix(),
        resourceGroupDomainSid: domain ? sidToString(domain) : null,
        resourceGroupIds: resourceGroups.value ?? [],
      };
    };
  });
  return info();
}
