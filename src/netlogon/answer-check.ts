import { GUEST_RID } from '../dc/sid.js';
import { windowsUppercase } from '../ntlm/crypto.js';
import type { NetworkLogon } from './calls.js';
import { type SamInfo4, UserFlags } from './validation-info.js';

/**
 * Does a successful NetrLogonSamLogonEx answer belong to the logon we asked about? A sealed
 * answer proves only that it came from the DC under this channel's key; the checks below catch an
 * answer spliced or replayed from another logon (issue 18: a man in the middle replayed alice's
 * answer into a new channel, and a wrong password logged in as alice), should the per-channel
 * keys and sequence numbers ever fail to. They are cheap and never refuse a logon the DC means:
 * - the account: the name the client typed is the account's sAMAccountName (EffectiveName) or one
 *   of its UPN spellings (the Upn field, or name@ the DNS or NetBIOS domain of the answer), compared
 *   as the directory compares names: upper-cased one UTF-16 unit at a time, without leading and
 *   trailing spaces, a run of spaces as one (Samba finds ` alice` as alice, and answers `alice`:
 *   found by the fuzz);
 * - the domain: the answer's domain is ours or the one the client named (NetBIOS or DNS). A DC may
 *   answer for its own domain when the client names one it does not know, so ours always passes.
 * A Guest answer is left to the verifier, which refuses it with its own code.
 *
 * Returns why the answer does not belong, or undefined when it does.
 */
export function answerMismatch(
  info: SamInfo4,
  asked: Pick<NetworkLogon, 'userName' | 'logonDomainName'>,
  ourDomain: string,
): string | undefined {
  if ((info.userFlags & UserFlags.LOGON_GUEST) !== 0 || info.userId === GUEST_RID) return undefined;
  const user = fold(asked.userName);
  const spellings = [
    info.effectiveName,
    info.upn,
    `${info.effectiveName}@${info.dnsLogonDomainName}`,
    `${info.effectiveName}@${info.logonDomainName}`,
  ];
  if (!spellings.some((name) => name !== '' && fold(name) === user)) {
    return `the answer is for account ${JSON.stringify(info.effectiveName)}, the logon for ${JSON.stringify(asked.userName)}`;
  }
  const domain = fold(info.logonDomainName);
  const named = fold(asked.logonDomainName);
  const known = [fold(ourDomain), named].filter((name) => name !== '');
  if (!known.includes(domain) && !(named !== '' && named === fold(info.dnsLogonDomainName))) {
    return `the answer is for domain ${JSON.stringify(info.logonDomainName)}, the logon for ${JSON.stringify(asked.logonDomainName || ourDomain)}`;
  }
  return undefined;
}

function fold(name: string): string {
  return windowsUppercase(name.replace(/^ +| +$/g, '').replace(/ {2,}/g, ' '));
}
