// The diagnostic listener's thread (see diag.ts): HTTP here, every answer from the main thread.
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import type { DiagAnswer, DiagQuestion } from './diag.js';

const port = parentPort!;
const { host, port: listenPort } = workerData as { host: string; port: number };
/** A main thread that does not answer within this is not healthy. */
const ANSWER_MS = 2_000;
let nextId = 0;
const waiting = new Map<number, (answer: DiagAnswer) => void>();
port.on('message', (answer: DiagAnswer) => {
  waiting.get(answer.id)?.(answer);
  waiting.delete(answer.id);
});

const server = createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
  const id = nextId++;
  const timer = setTimeout(() => {
    waiting.delete(id);
    res.writeHead(503, { 'content-type': 'text/plain' }).end(`the process did not answer within ${ANSWER_MS / 1000}s\n`);
  }, ANSWER_MS);
  waiting.set(id, (answer) => {
    clearTimeout(timer);
    res.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
  });
  port.postMessage({ id, path: (req.url ?? '/').split('?')[0]! } satisfies DiagQuestion);
});
// Probes are small and frequent; a slow client holds nothing for long.
server.requestTimeout = 5_000;
server.headersTimeout = 5_000;
server.once('error', (err: NodeJS.ErrnoException) => port.postMessage({ listening: false, error: err.code ?? err.message }));
server.listen(listenPort, host, () => port.postMessage({ listening: true }));
