/** X.690 tag classes and the universal tag numbers RFC 4120 and RFC 4178 use: for der.ts and der-writer.ts. */

export const TagClass = { UNIVERSAL: 0, APPLICATION: 1, CONTEXT: 2, PRIVATE: 3 } as const;

export const Tag = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  OID: 6,
  ENUMERATED: 10,
  SEQUENCE: 16,
  GENERALIZED_TIME: 24,
  GENERAL_STRING: 27,
} as const;
