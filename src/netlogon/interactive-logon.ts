import { NdrWriter } from '../rpc/ndr.js';
import { aesCfb8Encrypt } from './crypto.js';

/** NETLOGON_LOGON_INFO_CLASS NetlogonInteractiveInformation (MS-NRPC 2.2.1.4.16); Network is 2. */
const INTERACTIVE_INFORMATION = 1;
const VALIDATION_SAM_INFO4 = 6;
const ZERO_IV = Buffer.alloc(16);

/** A password logon (Basic), checked by the DC as an interactive logon of the user. */
export interface InteractiveLogon {
  /** The domain the client named (may be empty: a bare name or a UPN). */
  readonly logonDomainName: string;
  readonly userName: string;
  readonly workstation: string;
  /** NT OWF of the password: MD4 of its UTF-16LE (MS-NRPC 3.3.4.1.1). Sent only encrypted. */
  readonly ntOwfPassword: Buffer;
}

/**
 * One OWF as it goes on an AES secure channel: AES-128-CFB8 under the channel's session key with
 * an all-zero IV, each 16-byte OWF on its own (MS-NRPC 3.4.5.2.x; Samba's
 * netlogon_creds_crypt_samlogon_logon). An all-zero OWF stays as it is, as Samba leaves it.
 */
export function encryptOwf(owf: Buffer, sessionKey: Buffer): Buffer {
  return owf.every((byte) => byte === 0) ? Buffer.from(owf) : aesCfb8Encrypt(sessionKey, ZERO_IV, owf);
}

/**
 * NetrLogonSamLogonEx with NETLOGON_INTERACTIVE_INFO (MS-NRPC 2.2.1.4.3), asking for
 * NETLOGON_VALIDATION_SAM_INFO4. The LM OWF is sent all zero: no LM hash is computed for a
 * password (the DC checks the NT OWF; LM hashes are off by default since Windows Server 2008).
 * The stub carries the encrypted OWF, so it is built for one channel, under that channel's key.
 */
export function encodeInteractiveSamLogonEx(
  computerName: string,
  logon: InteractiveLogon,
  sessionKey: Buffer,
): Buffer {
  const w = new NdrWriter();
  w.pointer(null); // LogonServer
  w.pointer(() => w.wideString(computerName));
  w.u16(INTERACTIVE_INFORMATION); // LogonLevel
  w.construct(() => {
    w.u16(INTERACTIVE_INFORMATION);
    w.pointer(() => {
      w.unicodeString(logon.logonDomainName);
      w.u32(0); // ParameterControl: nothing to allow (no computer accounts, no cleartext)
      w.u32(0); // Reserved (OLD_LARGE_INTEGER)
      w.u32(0);
      w.unicodeString(logon.userName);
      w.unicodeString(logon.workstation);
      w.bytes(Buffer.alloc(16)); // LmOwfPassword
      w.bytes(encryptOwf(logon.ntOwfPassword, sessionKey)); // NtOwfPassword
    });
  });
  w.u16(VALIDATION_SAM_INFO4);
  w.u32(0); // ExtraFlags
  return w.toBuffer();
}
