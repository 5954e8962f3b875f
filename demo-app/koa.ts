import Koa from 'koa';
import type { NtlmOptions } from 'ntlm-sso';
import { ntlm } from 'ntlm-sso/koa';

export function serveKoa(options: NtlmOptions, port = 3000, host = '127.0.0.1') {
  const auth = ntlm(options);
  const app = new Koa();
  app.use(auth);
  app.use(async (ctx) => {
    if (ctx.method === 'POST' && ctx.path === '/logout') {
      await auth.logout(ctx);
      ctx.body = 'Logged out\n';
    } else if (ctx.path === '/whoami') {
      ctx.body = { ntlm: ctx.state.ntlm, headers: ctx.headers };
    }
  });
  const server = app.listen(port, host);
  server.keepAliveTimeout = 60_000; // NTLM authenticates the connection: keep it (Node's default is 5 s)
  server.on('close', () => auth.close());
  return server;
}
