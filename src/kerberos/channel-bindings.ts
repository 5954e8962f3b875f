import { AuthenticationError } from '../errors.js';
import { secretsEqual } from '../ntlm/crypto.js';
import type { ExtendedProtectionMode } from '../ntlm/extended-protection.js';

/**
 * Extended Protection for Kerberos: the Bnd field of the authenticator's 0x8003 checksum (RFC 4121
 * 4.1.1.2) is the MD5 of the client's gss_channel_bindings_struct, the same value an NTLMv2 client
 * puts in MsvAvChannelBindings; all zeros means the client bound nothing. It is inside the
 * authenticator, sealed with the session key, so a relay cannot change it.
 */
export interface KerberosChannel {
  /** `extendedProtection`, as for NTLM. */
  readonly extendedProtection: ExtendedProtectionMode;
  /** `channelBindingsHash(tlsServerEndPoint(ourCertificate))` over TLS; undefined over plain HTTP. */
  readonly channelBindings: Buffer | undefined;
}

const UNBOUND = Buffer.alloc(16);

/**
 * 'allow' refuses bindings for another channel; 'require' also refuses none, over TLS. Over plain
 * HTTP there is no channel to compare with, and the target the client meant is already proven:
 * only our service key opens the ticket.
 */
export function checkKerberosChannelBindings(
  sent: Buffer,
  channel: KerberosChannel | undefined,
  claimedUser: string,
): void {
  if (!channel || channel.extendedProtection === 'off' || !channel.channelBindings) return;
  if (!sent.equals(UNBOUND)) {
    if (!secretsEqual(sent, channel.channelBindings)) {
      throw new AuthenticationError(
        'ERR_NTLM_CHANNEL_BINDING_MISMATCH',
        'the Kerberos authenticator is bound to another TLS channel (a relay, or a TLS-terminating proxy in between)',
        { claimedUser },
      );
    }
  } else if (channel.extendedProtection === 'require') {
    throw new AuthenticationError(
      'ERR_NTLM_CHANNEL_BINDING_MISMATCH',
      'extended protection is required and the Kerberos authenticator carries no channel binding',
      { claimedUser },
    );
  }
}
