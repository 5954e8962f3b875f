// The demo: `npm run demo`, then open http://127.0.0.1:3000 or
//   curl --ntlm -u 'EXAMPLE\alice:Alice-Passw0rd!' http://127.0.0.1:3000/api/whoami
import { fileURLToPath } from 'node:url';
import { localDirectoryFromFile, ntlm } from 'ntlm-sso';
import { createDemoApp } from './app.js';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);
const usersFile = process.env.NTLM_USERS_FILE ?? fileURLToPath(new URL('./users.json', import.meta.url));
const debug = Number(process.env.NTLM_DEBUG ?? 1) as 0 | 1 | 2;

const auth = ntlm({ verifier: localDirectoryFromFile(usersFile), debug });
const app = createDemoApp(auth);
const server = app.listen(port, host, () => {
  console.log(`ntlm-sso demo on http://${host}:${port}/ (users from ${usersFile})`);
});

const shutdown = () => {
  server.close(() => auth.close().then(() => process.exit(0)));
  server.closeIdleConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
