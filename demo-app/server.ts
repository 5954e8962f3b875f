// The demo: `npm run demo`, then open http://127.0.0.1:3000 (demo-app/instance.ts says which
// variables choose the users). NTLM_WORKERS=4 runs 4 processes on the one port with node:cluster
// (demo-app/cluster-primary.ts): each connection stays in one worker, so NTLM holds.
import cluster from 'node:cluster';

const workers = Number(process.env.NTLM_WORKERS ?? 1);
if (workers > 1 && cluster.isPrimary) {
  const { runPrimary } = await import('./cluster-primary.js');
  runPrimary(workers);
} else {
  await import('./instance.js');
}
