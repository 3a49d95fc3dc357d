// A tiny web server for the demo: answers /health on 127.0.0.1:$PORT (default 18080).
// After $DEGRADE_AFTER_MS (default 8000) it turns sick and /health answers 503, so the
// demo's check sees it fail, turns unhealthy, and has procreg restart it.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 18080);
const sickAt = Date.now() + Number(process.env.DEGRADE_AFTER_MS ?? 8000);
createServer((req, res) => {
  const healthy = Date.now() < sickAt;
  res.writeHead(req.url !== '/health' ? 404 : healthy ? 200 : 503, { 'content-type': 'text/plain' });
  res.end(req.url !== '/health' ? 'not found\n' : healthy ? 'ok\n' : 'sick\n');
}).listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => {
  console.log('SIGTERM, shutting down');
  process.exit(0);
});
