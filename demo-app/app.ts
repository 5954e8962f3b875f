import express, { type Express } from 'express';
import type { NtlmMiddleware, RefusalHandler } from 'ntlm-sso';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The 401 page of the demo on its own users (demo-app/users.json): the browser shows it when the
 * user cancels the password prompt, so it says whom to sign in as.
 */
export function demoUsersPage(users: readonly string[]): RefusalHandler {
  const items = users.map((user) => `<li><code>${escapeHtml(user)}</code></li>`).join('\n');
  return (_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: ntlm-sso demo</title></head>
<body>
<h1>Sign in to the ntlm-sso demo</h1>
<p>This demo runs on its own users (demo-app/users.json). Sign in as one of them:</p>
<ul id="demo-users">
${items}
</ul>
</body></html>
`);
  };
}

/** The demo site: every route sits behind the NTLM middleware it is given. */
export function createDemoApp(auth: NtlmMiddleware): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(auth);

  app.get('/api/whoami', (req, res) => {
    const who = req.ntlm!;
    res.json({
      username: who.username,
      domain: who.domain,
      workstation: who.workstation,
      remoteUser: who.remoteUser,
      displayName: who.displayName ?? null,
      mail: who.mail ?? null,
      groups: who.groups ?? [],
      sid: who.sid ?? null,
      groupSids: who.groupSids ?? [],
      scheme: who.scheme,
      mechanism: who.mechanism ?? null,
      tokenId: who.tokenId ?? null,
      authenticatedAt: new Date(who.authenticatedAt).toISOString(),
      // What an application behind a proxy would read:
      headers: {
        'x-ntlm-username': req.headers['x-ntlm-username'],
        'x-ntlm-domain': req.headers['x-ntlm-domain'],
      },
    });
  });

  app.post('/api/logout', async (req, res) => {
    await auth.logout(req, res);
    res.json({ loggedOut: req.ntlm!.username });
  });

  app.get('/', (req, res) => {
    const who = req.ntlm!;
    const name = escapeHtml(who.displayName ?? who.username);
    res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ntlm-sso demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}dt{font-weight:600}</style></head>
<body>
<h1 id="greeting">Hello, ${name}!</h1>
<p>You were signed in by NTLM, with no password prompt of ours.</p>
<dl>
<dt>Account</dt><dd id="account"><code>${escapeHtml(who.domain)}\\${escapeHtml(who.username)}</code></dd>
<dt>Workstation (as your client reported it)</dt><dd id="workstation">${escapeHtml(who.workstation || '(none)')}</dd>
<dt>Groups</dt><dd id="groups">${escapeHtml((who.groups ?? []).join(', ') || '(none)')}</dd>
</dl>
<p>JSON: <a href="/api/whoami">/api/whoami</a></p>
</body></html>`);
  });

  return app;
}
