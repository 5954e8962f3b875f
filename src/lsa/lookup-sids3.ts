import { sidToBuffer, sidToString } from '../dc/sid.js';
import { dcAnswerError, NdrReader, NdrWriter } from '../rpc/ndr.js';
import type { SyntaxId } from '../rpc/pdu.js';

/**
 * MS-LSAT LsarLookupSids3 (3.1.4.9, opnum 76) as NDR stubs: SIDs in, names out. Marshalling
 * only; the caller owns the connection (an lsarpc association bound with schannel).
 *
 * What Samba 4.17.12 serves (measured on a STRICT DC, ../shared/hardened-domain "SID → name"):
 * - lsarpc has its own dynamic port in the endpoint mapper (49153 there; netlogon 49152).
 * - LsarLookupSids3 needs no policy handle, and is answered only on a Netlogon secure channel
 *   (schannel, auth type 0x44): on an NTLM bind it is rpc_s_access_denied. LsarOpenPolicy2 is
 *   refused (rpc_s_access_denied) over ncacn_ip_tcp to everyone, so LsarLookupSids/2 are out.
 * - LookupLevel 1 (LsapLookupWksta), as Windows members ask; 2, 3, 4 and 6 answer the same, 5 and
 *   7 map nothing (STATUS_NONE_MAPPED). ClientRevision 2 (1 answers the same).
 * - A partly unknown input answers STATUS_SOME_NOT_MAPPED (0x00000107, a success code: the names
 *   are there). An unknown RID of the domain: Use 8 (Unknown), Name = the RID as 8 hex digits,
 *   DomainIndex 0. An unknown domain: Use 8, Name = the SID string, DomainIndex −1.
 * - Well-known SIDs: S-1-1-0 is WellKnownGroup `Everyone` with an empty domain name; S-1-5-11
 *   `NT AUTHORITY\Authenticated Users`; S-1-5-32-545 Alias `BUILTIN\Users`; S-1-16-8192 Label
 *   `Mandatory Label\Medium Mandatory Level`.
 * - INVALID_SID: one SID of identifier authority 18 (S-1-18-1 "authentication authority asserted
 *   identity", S-1-18-2), and the whole call answers 0xC0000078 STATUS_INVALID_SID with no names,
 *   the other SIDs' included. Samba's own KDC puts S-1-18-1 in every PAC's ExtraSids, so a
 *   Kerberos logon's SIDs must not be sent as they are (see lsa-source.ts). The connection
 *   stays usable.
 */
export const LSARPC_INTERFACE: SyntaxId = {
  uuid: '12345778-1234-abcd-ef00-0123456789ab',
  major: 0,
  minor: 0,
};

export const OPNUM_LOOKUP_SIDS3 = 76;

/** LSAP_LOOKUP_LEVEL: LsapLookupWksta, what a Windows member server asks with. */
const LOOKUP_LEVEL_WKSTA = 1;
/** LSA_CLIENT_REVISION_2 (Windows XP and later). */
const CLIENT_REVISION = 2;

/** NTSTATUS values of the answer (MS-ERREF 2.3.1). */
export const LookupStatus = {
  SUCCESS: 0,
  /** Some SIDs were not mapped: a success code, the others' names are in the answer. */
  SOME_NOT_MAPPED: 0x00000107,
  /** None was mapped: an error code, but the answer is still well formed (all Unknown). */
  NONE_MAPPED: 0xc0000073,
  /** A SID the DC will not look up at all: the whole call fails, no names (see INVALID_SID below). */
  INVALID_SID: 0xc0000078,
} as const;

/** SID_NAME_USE (MS-LSAT 2.2.13). */
export const SidUse = {
  User: 1,
  Group: 2,
  Domain: 3,
  Alias: 4,
  WellKnownGroup: 5,
  DeletedAccount: 6,
  Invalid: 7,
  Unknown: 8,
  Computer: 9,
  Label: 10,
} as const;

export interface TranslatedName {
  readonly use: number;
  /** The account name without its domain (`Engineering`). */
  readonly name: string;
  /** ReferencedDomains[DomainIndex].Name (`EXAMPLE`, `BUILTIN`, `NT AUTHORITY`), '' when there is none. */
  readonly domain: string;
}

export interface LookupSidsAnswer {
  /** NTSTATUS: 0, SOME_NOT_MAPPED or NONE_MAPPED carry names; anything else is a failure. */
  readonly status: number;
  readonly mappedCount: number;
  /** One per SID asked, in the same order. */
  readonly names: readonly TranslatedName[];
}

export function encodeLookupSids3(sids: readonly string[]): Buffer {
  const w = new NdrWriter();
  // [in] PLSAPR_SID_ENUM_BUFFER: a reference pointer (nothing on the wire) to { Entries, SidInfo* }.
  w.construct(() => {
    w.u32(sids.length);
    w.pointer(() => {
      w.u32(sids.length); // conformance of LSAPR_SID_INFORMATION[Entries]
      for (const sid of sids) {
        const bytes = sidToBuffer(sid);
        w.pointer(() => w.sid(bytes));
      }
    });
  });
  // [in, out] PLSAPR_TRANSLATED_NAMES_EX: { Entries 0, Names NULL } on the way in.
  w.construct(() => {
    w.u32(0);
    w.pointer(null);
  });
  w.u16(LOOKUP_LEVEL_WKSTA); // an enum: 16 bits in NDR
  w.u32(0); // [in, out] MappedCount
  w.u32(0); // LookupOptions
  w.u32(CLIENT_REVISION);
  return w.toBuffer();
}

interface Domain {
  readonly name: string;
  readonly sid: string | undefined;
}

function readReferencedDomains(r: NdrReader): Domain[] {
  return r.construct(() => {
    const entries = r.u32();
    const domains = r.pointer(() =>
      r.conformantArray(
        () => {
          const name = r.unicodeString('domain Name');
          const sid = r.pointer(() => sidToString(r.sid('domain Sid')));
          return { name, sid };
        },
        12,
        'ReferencedDomains',
        entries,
      ),
    );
    r.u32(); // MaxEntries
    return () =>
      (domains.value ?? []).map(({ name, sid }) => ({ name: name.value ?? '', sid: sid.value ?? undefined }));
  })();
}

function readTranslatedNames(r: NdrReader): Array<{ use: number; name: string; domainIndex: number }> {
  return r.construct(() => {
    const entries = r.u32();
    const names = r.pointer(() =>
      r.conformantArray(
        () => {
          const use = r.u16();
          const name = r.unicodeString('translated Name');
          const domainIndex = r.u32() | 0; // LONG: −1 when no domain
          r.u32(); // Flags
          return { use, name, domainIndex };
        },
        20,
        'TranslatedNames',
        entries,
      ),
    );
    return () =>
      (names.value ?? []).map(({ use, name, domainIndex }) => ({ use, name: name.value ?? '', domainIndex }));
  })();
}

/** The answer, checked to hold one name per SID asked (`asked`). */
export function decodeLookupSids3(stub: Buffer, asked: number): LookupSidsAnswer {
  const r = new NdrReader(stub, dcAnswerError);
  // [out] PLSAPR_REFERENCED_DOMAIN_LIST*: a top-level unique pointer, its referent at once.
  const domains = r.pointer(() => readReferencedDomains(r)).value ?? [];
  const translated = readTranslatedNames(r);
  const mappedCount = r.u32();
  const status = r.u32();
  r.end('LsarLookupSids3');
  const carriesNames =
    status === LookupStatus.SUCCESS ||
    status === LookupStatus.SOME_NOT_MAPPED ||
    status === LookupStatus.NONE_MAPPED;
  if (!carriesNames) return { status, mappedCount: 0, names: [] };
  if (translated.length !== asked) {
    throw r.error(`LsarLookupSids3: ${translated.length} names for ${asked} SIDs`);
  }
  const names = translated.map(({ use, name, domainIndex }) => {
    const domain = domainIndex >= 0 ? domains[domainIndex] : undefined;
    if (domainIndex >= 0 && !domain) throw r.error(`DomainIndex ${domainIndex} of ${domains.length} domains`);
    return { use, name, domain: domain?.name ?? '' };
  });
  return { status, mappedCount, names };
}

/**
 * Whether a translated name is a real name: Samba answers an unknown RID with Use Unknown and the
 * RID in hex as its Name, an unknown domain with the SID string; neither names anything.
 */
export function isMapped(name: TranslatedName): boolean {
  return name.use !== SidUse.Unknown && name.use !== SidUse.Invalid && name.name !== '';
}

/** An answer that echoes the request's referent layout, for tests: what a DC sends back. */
export function encodeLookupSids3Answer(answer: {
  domains: readonly { name: string; sid: string }[];
  names: readonly { use: number; name: string; domainIndex: number }[];
  mappedCount: number;
  status: number;
}): Buffer {
  const w = new NdrWriter();
  w.pointer(() =>
    w.construct(() => {
      w.u32(answer.domains.length);
      w.pointer(() => {
        w.u32(answer.domains.length);
        for (const domain of answer.domains) {
          w.unicodeString(domain.name);
          w.pointer(() => w.sid(sidToBuffer(domain.sid)));
        }
      });
      w.u32(32);
    }),
  );
  w.construct(() => {
    w.u32(answer.names.length);
    w.pointer(() => {
      w.u32(answer.names.length);
      for (const name of answer.names) {
        w.u16(name.use);
        w.unicodeString(name.name);
        w.u32(name.domainIndex);
        w.u32(0);
      }
    });
  });
  w.u32(answer.mappedCount);
  w.u32(answer.status);
  return w.toBuffer();
}
