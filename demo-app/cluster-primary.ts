// The demo's node:cluster primary: forks the workers (each runs instance.ts on the same port),
// serves them one shared in-memory store (logouts and the Kerberos replay cache reach every
// worker; NTLM_REDIS_URL replaces it), and stops them all on SIGTERM or SIGINT.
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { MemoryStore, serveWorkerStore } from 'ntlm-sso';

export function runPrimary(workers: number): void {
  const host = process.env.HOST ?? '127.0.0.1';
  const port = Number(process.env.PORT ?? 3000);
  const store = new MemoryStore();
  // One token key for all workers (each would make its own): a token works on any of them.
  const env = { NTLM_JWT_SECRET: process.env.NTLM_JWT_SECRET ?? randomBytes(32).toString('base64') };
  cluster.schedulingPolicy = cluster.SCHED_RR;
  for (let i = 0; i < workers; i++) serveWorkerStore(cluster.fork(env), store);
  let listening = 0;
  cluster.on('listening', () => {
    listening += 1;
    if (listening === workers)
      console.log(
        `ntlm-sso demo on http://${host}:${port}/ (${workers} workers, users as in demo-app/instance.ts)`,
      );
  });
  let stopping = false;
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      console.error(`demo worker ${worker.process.pid} exited with ${code}; starting another`);
      serveWorkerStore(cluster.fork(env), store);
    } else if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
