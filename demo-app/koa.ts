import Koa from 'koa';
import { type NtlmKoaOptions, ntlm } from 'ntlm-sso/koa';

export function serveKoa(options: NtlmKoaOptions, port = 3000, host = '127.0.0.1') {
  const auth = ntlm(options);
  const app = new Koa();
  // Load balancers and scrapers do not log on: answer them ahead of the middleware.
  app.use((ctx, next) => {
    if (ctx.path === '/.ntlm-sso/ready') return auth.readyHandler(ctx, next);
    if (ctx.path === '/.ntlm-sso/metrics') return auth.metricsHandler(ctx, next);
    return next();
  });
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
