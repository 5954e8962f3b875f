/**
 * `scheme://user:password@host` → `scheme://user:***@host`, wherever such URLs appear in `text`.
 * For every line that may print a configured URL (the doctor's output, start-up and DC log lines):
 * the host stays named, the password never shows. The password runs to the last `@` before the
 * path, so an unencoded `@` in it is hidden too.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s/]*@/gi;

export function hideUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@');
}
