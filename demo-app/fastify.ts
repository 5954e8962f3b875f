import Fastify from 'fastify';
import type { NtlmOptions } from 'ntlm-sso';
import { ntlmPlugin } from 'ntlm-sso/fastify';

export async function serveFastify(options: NtlmOptions, port = 3000, host = '127.0.0.1') {
  // Fastify keeps idle connections 72 s by default: longer than an NTLM identity's 60 s.
  const app = Fastify();
  await app.register(ntlmPlugin, options);
  app.get('/whoami', async (request) => ({ ntlm: request.ntlm, headers: request.headers }));
  app.post('/logout', async (request, reply) => {
    await app.ntlm.logout(request, reply);
    return 'Logged out\n';
  });
  await app.listen({ port, host });
  return app; // app.close() also closes the verifier
}
