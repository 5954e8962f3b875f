/**
 * Copies that refer to nothing else, for what is kept past the request that brought it. V8 keeps
 * a slice of a long string as a view of the whole, and a Buffer slice (or a small Buffer cut from
 * Node's shared 8 KB pool) keeps its whole backing memory, for as long as the slice lives: a
 * Bearer token cut from a Cookie header held the header (every cookie of the site, up to 16 KB,
 * per cached token), a user name cut from a decoded Basic `user:password` held the password, a
 * cached Kerberos ticket's session key held 8 KB pool slabs.
 */

/** UTF-16 both ways, so every code unit comes back as it was. */
export function ownString(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

/** On memory of its own: Buffer.alloc is never pooled. */
export function ownBytes(bytes: Buffer): Buffer {
  const copy = Buffer.alloc(bytes.length);
  bytes.copy(copy);
  return copy;
}
