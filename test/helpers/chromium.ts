import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium, headless, with the flags this sandboxed machine needs (no background network). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page in a fresh headless Chromium that answers NTLM challenges as `username`; the browser is closed afterwards. */
export async function withChromiumPage<T>(
  credentials: { username: string; password: string },
  use: (page: Page) => Promise<T>,
): Promise<T> {
  const browser = await launchChromium();
  try {
    // Test servers over HTTPS use self-signed certificates.
    const context = await browser.newContext({ httpCredentials: credentials, ignoreHTTPSErrors: true });
    return await use(await context.newPage());
  } finally {
    await browser.close();
  }
}
