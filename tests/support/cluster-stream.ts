import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '#libs/bus';
import { busAccess, type BusTarget } from './bus.js';

export interface StreamMessage {
  seq: number;
  subject: string;
  /** The message body as stored (CLUSTER: a JSON array of event envelopes `{ type, data, time }`). */
  body: string;
}

/**
 * Every message of a stream, read with an ordered consumer straight from the NATS server, past the
 * services: what anyone with access to the JetStream store would see (the bus's admin).
 */
export async function readStream(cluster: BusTarget, stream: string): Promise<StreamMessage[]> {
  const nc = await connectNats(await busAccess(cluster), 'tests-read-stream');
  try {
    const { state } = await (await jetstreamManager(nc)).streams.info(stream);
    const out: StreamMessage[] = [];
    // consume() on an empty stream would wait forever for a first message.
    if (state.messages === 0) return out;
    // Large pulls: the AUDIT stream of a pgbench run holds tens of thousands of messages.
    const messages = await (await jetstream(nc).consumers.get(stream)).consume({ max_messages: 5_000 });
    try {
      for await (const m of messages) {
        out.push({ seq: m.seq, subject: m.subject, body: m.string() });
        if (m.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
    return out;
  } finally {
    await nc.close();
  }
}
