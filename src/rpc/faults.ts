/**
 * DCE/RPC fault statuses, sorted by whom they concern. A fault that says the server could not
 * read *this call's* stub (its NDR: a string that is not UTF-16, a bound or a union tag out of
 * range) is caused by the data of one request; any client can trigger it, so it must answer that
 * request and never count against the server's health (issue 18: one AUTHENTICATE whose user
 * name held a lone surrogate made Samba fault 0x6F7 and took Netlogon down for everyone). Every
 * other fault (access denied, 0x721 nca_s_sec_pkg_error, protocol errors, out of memory...) is
 * about the server or the connection, and is treated as the server failing.
 */
export const RequestFault = {
  /** RPC_X_NULL_REF_POINTER (1780). */
  nullRefPointer: 0x000006f4,
  /** RPC_X_ENUM_VALUE_OUT_OF_RANGE (1781). */
  enumValueOutOfRange: 0x000006f5,
  /** RPC_X_BYTE_COUNT_TOO_SMALL (1782). */
  byteCountTooSmall: 0x000006f6,
  /** RPC_X_BAD_STUB_DATA (1783), Samba's DCERPC_FAULT_NDR: what a lone surrogate in a name gets. */
  badStubData: 0x000006f7,
  /** RPC_S_INVALID_BOUND (1734). */
  invalidBound: 0x000006c6,
  /** nca_s_fault_invalid_tag: a union discriminant out of range. */
  invalidTag: 0x1c000006,
  /** nca_s_fault_invalid_bound. */
  ncaInvalidBound: 0x1c000007,
} as const;

const REQUEST_FAULTS: ReadonlySet<number> = new Set(Object.values(RequestFault));

/** Whether a fault status is the server refusing one call's data (see RequestFault). */
export function isRequestFault(status: number): boolean {
  return REQUEST_FAULTS.has(status >>> 0);
}

/** nca_s_sec_pkg_error: the call's verifier does not verify under the key the server holds. */
export const SEC_PKG_ERROR = 0x00000721;
