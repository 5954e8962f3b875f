import Fastify from 'fastify';
import { type NtlmFastifyOptions, ntlmPlugin } from 'ntlm-sso/fastify';

export async function serveFastify(options: NtlmFastifyOptions, port = 3000, host = '127.0.0.1') {
  // Fastify keeps idle connections 72 s by default: longer than an NTLM identity's 60 s.
  const app = Fastify();
  await app.register(ntlmPlugin, options);
  // Load balancers and scrapers do not log on: `config: { ntlm: false }` skips authentication.
  app.get('/.ntlm-sso/ready', { config: { ntlm: false } }, app.ntlm.readyHandler);
  app.get('/.ntlm-sso/metrics', { config: { ntlm: false } }, app.ntlm.metricsHandler);
  app.get('/whoami', async (request) => ({ ntlm: request.ntlm, headers: request.headers }));
  app.post('/logout', async (request, reply) => {
    await app.ntlm.logout(request, reply);
    return 'Logged out\n';
  });
  await app.listen({ port, host });
  return app; // app.close() also closes the verifier
}
