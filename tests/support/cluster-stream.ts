import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '#libs/bus';
import { busAccess, type BusTarget } from './bus.js';

export interface StreamMessage {
  seq: number;
  subject: string;
  /** The message body as stored (CLUSTER: a JSON array of event envelopes `{ type, data, time }`). */
  body: string;
}

/**
 * Every message of a stream (or those on `subjects`, wildcards allowed), in stream order, read with
 * ordered consumers straight from the NATS server, past the services: what anyone with access to the
 * JetStream store would see (the bus's admin).
 */
export async function readStream(cluster: BusTarget, stream: string, subjects?: string[]): Promise<StreamMessage[]> {
  const nc = await connectNats(await busAccess(cluster), 'tests-read-stream');
  // A read cut by a stopped server (a test that timed out, then its cluster stopped) ends there rather
  // than reconnecting for ever and keeping Jest from exiting.
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'disconnect') return nc.close();
  })();
  try {
    if (!subjects) return await readAll(nc, stream);
    // One consumer per subject: Debian's nats-server predates consumers with several filters.
    const each = await Promise.all(subjects.map((subject) => readAll(nc, stream, subject)));
    return each.flat().sort((a, b) => a.seq - b.seq);
  } finally {
    await nc.close();
  }
}

async function readAll(nc: NatsConnection, stream: string, subject?: string): Promise<StreamMessage[]> {
  const out: StreamMessage[] = [];
  // consume() with nothing to read would wait forever for a first message.
  if ((await matching(await jetstreamManager(nc), stream, subject)) === 0) return out;
  // Large pulls: the AUDIT stream of a pgbench run holds tens of thousands of messages.
  const consumer = await jetstream(nc).consumers.get(stream, subject ? { filter_subjects: subject } : {});
  const messages = await consumer.consume({ max_messages: 5_000 });
  try {
    for await (const m of messages) {
      out.push({ seq: m.seq, subject: m.subject, body: m.string() });
      if (m.info.pending === 0) break;
    }
  } finally {
    messages.stop();
  }
  return out;
}

/** How many messages of `stream` are on `subject` (all of them without). */
async function matching(jsm: JetStreamManager, stream: string, subject?: string): Promise<number> {
  if (!subject) return (await jsm.streams.info(stream)).state.messages;
  const { state } = await jsm.streams.info(stream, { subjects_filter: subject });
  return Object.values(state.subjects ?? {}).reduce((a, b) => a + b, 0);
}
