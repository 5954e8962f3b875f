import { type AuthenticationCode, AuthenticationError } from '../errors.js';

/**
 * Refuses a logon with a stable code. `claimedUser` is the ticket's client once the ticket has
 * been opened (for the log; the 401 body never says which check failed).
 */
export function refuse(
  code: AuthenticationCode,
  message: string,
  claimedUser?: string,
  cause?: unknown,
): never {
  throw new AuthenticationError(code, message, { claimedUser, cause });
}
