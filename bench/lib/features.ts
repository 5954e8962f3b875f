// What this build of the package can do beyond the LDAP relay, asked at run time: scenario 4
// runs when the package exports netlogon(), scenario 5 when ntlm({ kerberos }) offers Negotiate,
// and each says "not in this build" otherwise.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Features {
  readonly netlogon: boolean;
  readonly kerberos: boolean;
}

type Package = Record<string, (...args: unknown[]) => unknown>;

/**
 * Asks a middleware configured with `kerberos: { keytab }` for a 401 and reads which schemes it
 * offers: a build without Kerberos in the middleware ignores or refuses the option, and offers NTLM only.
 */
async function offersNegotiate(pkg: Package, keytab: string): Promise<boolean> {
  if (typeof pkg.ntlm !== 'function' || typeof pkg.localDirectory !== 'function') return false;
  let auth: ((req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void) & {
    close(): Promise<void>;
  };
  try {
    auth = pkg.ntlm({
      verifier: pkg.localDirectory({ domain: 'EXAMPLE', users: [] }),
      kerberos: { keytab },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    }) as typeof auth;
  } catch {
    return false;
  }
  const server = http.createServer((req, res) => auth(req, res, () => res.end()));
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const schemes = await new Promise<string[]>((resolve, reject) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
        res.resume();
        const offered: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]!.toLowerCase() === 'www-authenticate') offered.push(res.rawHeaders[i + 1]!);
        }
        resolve(offered);
      });
      request.on('timeout', () => request.destroy(new Error('no answer to the feature probe in 5 s')));
      request.on('error', reject);
    });
    return schemes.some((scheme) => /^Negotiate\b/i.test(scheme));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await auth.close().catch(() => {});
  }
}

/** `keytab`: the test DC's HTTP keytab (it exists once the DC has been provisioned). */
export async function detectFeatures(keytab: string): Promise<Features> {
  const pkg = (await import('ntlm-sso')) as unknown as Package;
  return {
    netlogon: typeof pkg.netlogon === 'function',
    kerberos: await offersNegotiate(pkg, keytab),
  };
}
