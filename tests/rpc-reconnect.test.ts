// NATS keeps nothing for a client that is reconnecting: a request written while its server is away is
// dropped with the client's buffer. An idempotent call (a session's authorization and confirmation) is
// sent again once the connection is back and answered then; any other call waits out its timeout, as
// the request may have been handled.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { busIdentity, BusRole, requestFilter, RpcClient } from '#libs/bus';
import { startNats, type NatsServer } from '#libs/testing';

const PATTERN = 'tests.echo';

let nats: NatsServer;
let requester: NatsConnection;
let responder: NatsConnection;
let rpc: RpcClient;
const handled: unknown[] = [];

const reconnecting = (name: string) => connect({ servers: nats.url, name, maxReconnectAttempts: -1, reconnectTimeWait: 200 });

beforeAll(async () => {
  nats = await startNats();
  requester = await reconnecting('requester');
  responder = await reconnecting('responder');
  responder.subscribe(requestFilter(PATTERN), {
    callback: (_err, msg) => {
      const { data } = msg.json<{ data: unknown }>();
      handled.push(data);
      msg.respond(JSON.stringify({ response: data }));
    },
  });
  await responder.flush();
  rpc = new RpcClient(requester, busIdentity(BusRole.Proxy, 'tests'));
});

afterAll(async () => {
  await requester?.close();
  await responder?.close();
  await nats?.stop();
});

/** A call made while NATS is down, which comes back a moment later. */
async function callDuringOutage<T>(call: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; ms: number }> {
  await nats.down();
  const started = Date.now();
  const settled = Promise.allSettled([call()]);
  await new Promise((r) => setTimeout(r, 1_000));
  await nats.up();
  const [result] = await settled;
  return { result: result!, ms: Date.now() - started };
}

it('sends an idempotent call again when the connection is back, and is answered then', async () => {
  const { result, ms } = await callDuringOutage(() => rpc.call(PATTERN, { n: 1 }, 20_000, { idempotent: true }));
  expect(result).toEqual({ status: 'fulfilled', value: { n: 1 } });
  expect(ms).toBeLessThan(15_000);
  expect(handled).toContainEqual({ n: 1 });
});

it('lets any other call made during the outage wait out its timeout: it is lost', async () => {
  const { result } = await callDuringOutage(() => rpc.call(PATTERN, { n: 2 }, 6_000));
  expect(result.status).toBe('rejected');
  expect(String((result as PromiseRejectedResult).reason)).toContain('no answer from tests service within 6s');
  expect(handled).not.toContainEqual({ n: 2 });
});

it('answers as usual when nothing is lost', async () => {
  await expect(rpc.call(PATTERN, { n: 3 }, 5_000, { idempotent: true })).resolves.toEqual({ n: 3 });
  expect(handled.filter((d) => JSON.stringify(d) === '{"n":3}')).toHaveLength(1);
});
