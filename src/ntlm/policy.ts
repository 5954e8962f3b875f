import { AuthenticationError, InvalidTokenError } from '../errors.js';
import type { AuthenticateMessage } from './authenticate.js';
import { hasFlag, NegotiateFlags } from './flags.js';
import { decodeNtlmV2Response, MIN_NTLMV2_RESPONSE, type NtlmV2Response } from './ntlmv2-response.js';

/** NTLMv1 and LM responses are exactly 24 bytes (MS-NLMP 2.2.2.6). */
const NTLMV1_RESPONSE_LENGTH = 24;

/**
 * The one place that decides which logons may even be tried, whatever the verifier:
 * anonymous logons are refused, and so are NTLMv1 and LM (DES with a crackable key).
 * Runs before any verifier sees the AUTHENTICATE message; returns its NTLMv2 response.
 */
export function checkLogonPolicy(message: AuthenticateMessage): NtlmV2Response {
  const claimedUser = message.user;
  const nt = message.ntChallengeResponse;
  const lmIsEmpty =
    message.lmChallengeResponse.length === 0 || message.lmChallengeResponse.equals(Buffer.alloc(1));
  if (
    hasFlag(message.flags, NegotiateFlags.ANONYMOUS) ||
    message.user === '' ||
    (nt.length === 0 && lmIsEmpty)
  ) {
    throw new AuthenticationError('ERR_NTLM_ANONYMOUS_REFUSED', 'anonymous NTLM logon refused', {
      claimedUser,
    });
  }
  if (nt.length === 0 || nt.length === NTLMV1_RESPONSE_LENGTH) {
    throw new AuthenticationError(
      'ERR_NTLM_V1_REFUSED',
      'NTLMv1/LM response refused: only NTLMv2 is accepted',
      {
        claimedUser,
      },
    );
  }
  if (nt.length < MIN_NTLMV2_RESPONSE) {
    throw new InvalidTokenError(`NtChallengeResponse of ${nt.length} bytes is neither NTLMv1 nor NTLMv2`);
  }
  return decodeNtlmV2Response(nt);
}
