import { AuthenticationError } from '../errors.js';
import { buildServerChallenge, type ServerNames } from '../ntlm/server-challenge.js';
import type { HandshakeFinish, HandshakeStart, NtlmIdentity, PendingHandshake } from '../types.js';

/** A verdict with the ExportedSessionKey the verifier derived on the way. */
export interface VerifiedLogon {
  readonly identity: NtlmIdentity;
  readonly exportedSessionKey: Buffer;
}

/** What a verifier that issues its own CHALLENGE needs to decide the AUTHENTICATE. */
export interface OwnChallenge {
  readonly serverChallenge: Buffer;
  readonly negotiateToken: Buffer;
  readonly challengeToken: Buffer;
}

/**
 * A handshake whose CHALLENGE is ours (local directory, Netlogon): a fresh random server
 * challenge with TargetInfo, which answers one AUTHENTICATE only, so a replayed Type 3 finds
 * nothing to complete.
 */
export function ownChallengeHandshake(
  start: HandshakeStart,
  names: ServerNames,
  decide: (finish: HandshakeFinish, challenge: OwnChallenge) => Promise<VerifiedLogon>,
): PendingHandshake {
  const { token: challengeToken, serverChallenge } = buildServerChallenge(
    start.negotiate.flags,
    names,
    Date.now(),
  );
  const challenge = { serverChallenge, negotiateToken: start.negotiateToken, challengeToken };
  let used = false;
  let sessionKey: Buffer | undefined;
  return {
    challengeToken,
    complete: async (finish: HandshakeFinish): Promise<NtlmIdentity> => {
      if (used)
        throw new AuthenticationError('ERR_NTLM_NO_PENDING_HANDSHAKE', 'server challenge already used');
      used = true;
      const { identity, exportedSessionKey } = await decide(finish, challenge);
      sessionKey = exportedSessionKey;
      return identity;
    },
    exportedSessionKey: () => sessionKey,
    abort: () => {
      used = true;
    },
  };
}
