// The demo app under node:cluster: 2 workers share one listening port (the primary hands each
// new connection to a worker in turn) and one Redis. Every reply says which worker answered.
// PORT, NTLM_REDIS_URL and NTLM_JWT_SECRET come from the environment.
import cluster from 'node:cluster';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDemoApp } from '../../demo-app/app.js';
import { localDirectoryFromFile, ntlm, RedisStore } from '../../src/index.js';

const WORKERS = 2;
const port = Number(process.env.PORT);

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('listening', () => {
    listening += 1;
    if (listening === WORKERS) console.log(`cluster of ${WORKERS} workers on http://127.0.0.1:${port}/`);
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  });
} else {
  const auth = ntlm({
    verifier: localDirectoryFromFile(fileURLToPath(new URL('../../demo-app/users.json', import.meta.url))),
    bearer: { secret: process.env.NTLM_JWT_SECRET! },
    store: new RedisStore({ redis: process.env.NTLM_REDIS_URL! }),
  });
  const app = createDemoApp(auth);
  const server = http.createServer((req, res) => {
    res.setHeader('X-Worker-Pid', String(process.pid));
    app(req, res);
  });
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => {
    server.close(() => auth.close().then(() => process.exit(0)));
    server.closeAllConnections();
  });
}
