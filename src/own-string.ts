/**
 * A copy of `text` that refers to nothing else. V8 keeps a slice of a long string as a view of
 * the whole, for as long as the slice lives: a Bearer token cut from a Cookie header held the
 * header (every cookie of the site, up to 16 KB, per cached token), a user name cut from a
 * decoded Basic `user:password` held the password. Strings kept past their request go through
 * this. UTF-16 both ways, so every code unit comes back as it was.
 */
export function ownString(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}
