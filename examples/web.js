// A tiny web server for the demo: answers /health on 127.0.0.1:$PORT (default 18080).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 18080);
createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/health' ? 'ok\n' : 'not found\n');
}).listen(port, '127.0.0.1', () => console.log(`web listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => {
  console.log('web: SIGTERM, shutting down');
  process.exit(0);
});
