import {
  type DerNode,
  type DerReader,
  der,
  readFields,
  readInteger,
  readKerberosString,
  readSequenceOf,
} from '../asn1/der.js';

/** PrincipalName (RFC 4120 5.2.2): a name type and its components. */
export interface PrincipalName {
  readonly nameType: number;
  readonly components: readonly string[];
}

export const NameType = { PRINCIPAL: 1, SRV_INST: 2, SRV_HST: 3, ENTERPRISE: 10 } as const;

export function readPrincipalName(reader: DerReader, node: DerNode, what: string): PrincipalName {
  const fields = readFields(reader, node, what, [0, 1], [0, 1]);
  const nameType = readInteger(fields.get(0)!, `${what} name-type`);
  const components = readSequenceOf(reader, fields.get(1)!, `${what} name-string`, 16, (element) =>
    readKerberosString(element, `${what} name-string`),
  );
  if (components.length === 0) throw reader.fail(`${what}: a name without components`);
  return { nameType, components };
}

export function encodePrincipalName(name: PrincipalName): Buffer {
  return der.sequence(
    der.context(0, der.integer(name.nameType)),
    der.context(1, der.sequence(...name.components.map(der.kerberosString))),
  );
}
