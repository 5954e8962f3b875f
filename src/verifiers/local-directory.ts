import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { DEFAULTS } from '../defaults.js';
import { AuthenticationError, ConfigurationError } from '../errors.js';
import { readJsonObject } from '../json-file.js';
import type { PasswordLogon, PasswordVerifier } from '../mechanisms/password-verifier.js';
import { ntowfv1 } from '../ntlm/crypto.js';
import type { ServerNames } from '../ntlm/server-challenge.js';
import { verifyNtlmV2 } from '../ntlm/verify-ntlmv2.js';
import { OPTION_KEYS } from '../option-keys.js';
import type {
  HandshakeStart,
  LocalDirectoryOptions,
  LocalUser,
  NtlmIdentity,
  PendingHandshake,
  Verifier,
} from '../types.js';
import { knownKeysOnly } from '../validation.js';
import { ownChallengeHandshake, type VerifiedLogon } from './own-challenge.js';

interface Account {
  readonly user: LocalUser;
  readonly ntHash: Promise<Buffer>;
}

const NETBIOS_NAME = /^[^\\/:*?"<>|\u0000-\u001f]{1,15}$/;

/**
 * A user directory held in memory: the verifier behind the demo and tests, and a real option
 * for small sites. It accepts NTLMv2 only and checks the proof, timestamp and MIC itself.
 */
export class LocalDirectoryVerifier implements Verifier, PasswordVerifier {
  readonly name = 'local-directory';
  readonly domains: readonly string[];
  readonly #names: ServerNames;
  readonly #accounts = new Map<string, Account>();
  readonly #maxClockSkewMs: number;

  constructor(options: LocalDirectoryOptions) {
    knownKeysOnly(options, OPTION_KEYS.localDirectory, 'localDirectory()');
    const domain = options.domain?.toUpperCase();
    if (!domain || !NETBIOS_NAME.test(domain)) {
      throw new ConfigurationError(
        `localDirectory: domain must be a NetBIOS name of 1-15 characters, got ${JSON.stringify(options.domain)}`,
      );
    }
    const dnsDomain = (options.dnsDomain ?? `${domain}.local`).toLowerCase();
    const computer = (options.computerName ?? hostname().split('.')[0] ?? 'NTLM-SSO')
      .toUpperCase()
      .slice(0, 15);
    this.#names = {
      netbiosDomain: domain,
      netbiosComputer: computer,
      dnsDomain,
      dnsComputer: `${computer.toLowerCase()}.${dnsDomain}`,
    };
    this.domains = [domain, dnsDomain];
    this.#maxClockSkewMs = options.maxClockSkewMs ?? DEFAULTS.localDirectory.maxClockSkewMs;
    if (!Array.isArray(options.users)) throw new ConfigurationError('localDirectory: users must be an array');
    options.users.forEach((user, index) => {
      knownKeysOnly(user, OPTION_KEYS.localUser, 'localDirectory()', `users[${index}].`);
      this.#add(user);
    });
  }

  #add(user: LocalUser): void {
    if (
      typeof user?.username !== 'string' ||
      user.username === '' ||
      /[\\@\u0000-\u001f]/.test(user.username)
    ) {
      throw new ConfigurationError(`localDirectory: invalid username ${JSON.stringify(user?.username)}`);
    }
    const key = user.username.toLowerCase();
    if (this.#accounts.has(key))
      throw new ConfigurationError(`localDirectory: user ${user.username} is listed twice`);
    let ntHash: Promise<Buffer>;
    if (typeof user.password === 'string' && user.ntHash === undefined) {
      ntHash = ntowfv1(user.password);
    } else if (
      typeof user.ntHash === 'string' &&
      user.password === undefined &&
      /^[0-9a-f]{32}$/i.test(user.ntHash)
    ) {
      ntHash = Promise.resolve(Buffer.from(user.ntHash, 'hex'));
    } else {
      throw new ConfigurationError(
        `localDirectory: user ${user.username} needs a password or a 32-hex-digit ntHash (one of them)`,
      );
    }
    ntHash.catch(() => {}); // surfaced when used; never an unhandled rejection
    this.#accounts.set(key, {
      user: {
        ...user,
        groups: user.groups ? [...user.groups] : undefined,
        groupSids: user.groupSids ? [...user.groupSids] : undefined,
      },
      ntHash,
    });
  }

  /** Finds the account a Type 3 names: `user` with our domain (or none), or `user@dnsDomain`. */
  #lookup(user: string, domain: string): Account | undefined {
    let name = user;
    let realm = domain;
    const at = user.lastIndexOf('@');
    if (at > 0 && domain === '') {
      name = user.slice(0, at);
      realm = user.slice(at + 1);
    }
    const known = [this.#names.netbiosDomain, this.#names.dnsDomain].map((d) => d.toLowerCase());
    if (realm !== '' && !known.includes(realm.toLowerCase())) {
      throw new AuthenticationError(
        'ERR_NTLM_UNKNOWN_DOMAIN',
        `domain ${realm} is not ${this.#names.netbiosDomain}`,
        {
          claimedUser: user,
        },
      );
    }
    return this.#accounts.get(name.toLowerCase());
  }

  async startHandshake(start: HandshakeStart): Promise<PendingHandshake> {
    return ownChallengeHandshake(
      start,
      this.#names,
      async (finish, { serverChallenge, negotiateToken, challengeToken }): Promise<VerifiedLogon> => {
        const { authenticate } = finish;
        const account = this.#lookup(authenticate.user, authenticate.domain);
        // An unknown user still costs one hash, so that timing does not tell which names exist.
        const ntHash = account ? await account.ntHash : Buffer.alloc(16);
        const exportedSessionKey = verifyNtlmV2({
          ntHash,
          serverChallenge,
          negotiateToken,
          challengeToken,
          authenticateToken: finish.authenticateToken,
          authenticate,
          response: finish.ntlmV2,
          now: Date.now(),
          maxClockSkewMs: this.#maxClockSkewMs,
        });
        if (!account) {
          throw new AuthenticationError('ERR_NTLM_LOGON_FAILED', 'no such user', {
            claimedUser: authenticate.user,
          });
        }
        if (account.user.disabled) {
          throw new AuthenticationError('ERR_NTLM_ACCOUNT_DISABLED', 'account is disabled', {
            claimedUser: authenticate.user,
          });
        }
        const { username, displayName, mail, groups, sid, groupSids } = account.user;
        const identity = {
          username,
          domain: this.#names.netbiosDomain,
          workstation: authenticate.workstation,
          displayName,
          mail,
          sid,
          groups,
          groupSids,
        };
        return { identity, exportedSessionKey };
      },
    );
  }

  /** Basic: the password's NT hash against the record's, in constant time; the identity from the record. */
  async verifyPassword(logon: PasswordLogon): Promise<NtlmIdentity> {
    const account = this.#lookup(logon.username, logon.domain);
    const given = await ntowfv1(logon.password);
    // An unknown user costs the same comparison, so that timing does not tell which names exist.
    const stored = account ? await account.ntHash : randomBytes(16);
    if (!timingSafeEqual(given, stored) || !account) {
      throw new AuthenticationError('ERR_NTLM_LOGON_FAILED', 'wrong password or no such user', {
        claimedUser: logon.username,
      });
    }
    if (account.user.disabled) {
      throw new AuthenticationError('ERR_NTLM_ACCOUNT_DISABLED', 'account is disabled', {
        claimedUser: logon.username,
      });
    }
    const { username, displayName, mail, groups } = account.user;
    return { username, domain: this.#names.netbiosDomain, workstation: '', displayName, mail, groups };
  }
}

export function localDirectory(options: LocalDirectoryOptions): LocalDirectoryVerifier {
  return new LocalDirectoryVerifier(options);
}

/**
 * Reads a directory from a JSON file: `{ "domain": "EXAMPLE", "users": [ { "username": ..., "password": ... } ] }`.
 * `overrides` win over the file (e.g. a domain from the environment).
 */
export function localDirectoryFromFile(
  path: string,
  overrides: Partial<LocalDirectoryOptions> = {},
): LocalDirectoryVerifier {
  const parsed = readJsonObject(path, 'localDirectory') as Partial<LocalDirectoryOptions>;
  return new LocalDirectoryVerifier({ ...parsed, ...overrides } as LocalDirectoryOptions);
}
