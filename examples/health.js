// The demo's health check: exit 0 if the web server answers /health within the check's timeout.
import { get } from 'node:http';

const port = Number(process.argv[2] ?? process.env.PORT ?? 18080); // `node health.js 8080`, or $PORT
get({ host: '127.0.0.1', port, path: '/health' }, (res) => process.exit(res.statusCode === 200 ? 0 : 1)).on(
  'error',
  () => process.exit(1),
);
