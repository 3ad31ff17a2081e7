import { randomUUID } from 'node:crypto';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Logger } from '@nestjs/common';
import { ConnectionProblemError } from '#libs/common';
import type { EventEnvelope } from '#libs/events';
import { decodeCommit } from './commit.js';
import { type Decider, fold } from './decider.js';
import { ExpectedVersionConflictError } from './errors.js';
import { PUBLISH_RETRIES, retryThroughFailover } from './failover.js';
import { Projection, type CommitHandler } from './projection.js';

/** Versions are JetStream subject sequences: 0 means the aggregate has no events yet. */
export interface LoadedAggregate<Event> {
  events: Event[];
  version: number;
}

const CONFLICT_RETRIES = 5;
/** A load that hears nothing from its consumer for this long takes the consumer for gone. */
const LOAD_SILENCE_MS = 3_000;
/** JetStream API error 10058: a stream with this name already exists (with another configuration). */
const STREAM_NAME_IN_USE = 10058;

/**
 * An event store on one JetStream stream, one subject per aggregate. Each message is one commit:
 * a JSON array of event envelopes, appended with `Nats-Expected-Last-Subject-Sequence`.
 */
export class EventStore {
  private readonly logger = new Logger('eventstore');

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
  ) {}

  /**
   * Opens the store. With `create`, creates the stream if it does not exist yet (the process that sets
   * up the bus); otherwise waits for it to exist, so a service may start before the one that creates it.
   */
  static async open(
    nc: NatsConnection,
    stream: { name: string; subjects: readonly string[] },
    { create = false, config = {} }: { create?: boolean; config?: Partial<Omit<StreamConfig, 'name' | 'subjects'>> } = {},
  ): Promise<EventStore> {
    const jsm = await jetstreamManager(nc);
    if (create) await ensureStream(jsm, { ...config, name: stream.name, subjects: [...stream.subjects] });
    else await waitForStream(jsm, stream.name);
    return new EventStore(jetstream(nc), jsm, stream.name);
  }

  /** The aggregate's version: the last sequence on its subject. */
  version(subject: string): Promise<number> {
    return this.lastSequenceOn(subject);
  }

  async load<Event extends { type: string; data: unknown }>(subject: string): Promise<LoadedAggregate<Event>> {
    const version = await this.version(subject);
    if (version === 0) return { events: [], version };
    return { events: await retryThroughFailover(() => this.eventsUpTo<Event>(subject, version)), version };
  }

  /**
   * The events on `subject` up to sequence `version`, read with an ordered consumer. Its one copy is on
   * one NATS node: when that node dies, nats.js waits for it for good, so a load that hears nothing for
   * LOAD_SILENCE_MS gives up with a timeout, and retryThroughFailover loads again with a new consumer.
   */
  private async eventsUpTo<Event extends { type: string; data: unknown }>(subject: string, version: number): Promise<Event[]> {
    const events: Event[] = [];
    const consumer = await this.js.consumers.get(this.stream, { filter_subjects: subject });
    const messages = await consumer.consume();
    let heard = Date.now();
    let silent = false;
    const watchdog = setInterval(() => {
      if (Date.now() - heard < LOAD_SILENCE_MS) return;
      silent = true;
      messages.stop();
    }, LOAD_SILENCE_MS / 4);
    try {
      for await (const m of messages) {
        heard = Date.now();
        try {
          for (const envelope of decodeCommit(m)) events.push({ type: envelope.type, data: envelope.data } as Event);
        } catch (err) {
          // Not a commit: the aggregate is what the commits around it say.
          this.logger.warn(`skipped ${(err as Error).message}`);
        }
        if (m.seq >= version || m.info.pending === 0) return events;
      }
    } finally {
      clearInterval(watchdog);
      messages.stop();
    }
    // Deciding on part of an aggregate could accept what its whole refuses.
    if (silent) throw new errors.TimeoutError();
    throw new Error(`loading ${subject} ended before sequence ${version}`);
  }

  /** Appends one commit if the subject is still at `expectedVersion`; returns the new version. */
  async append<Event extends { type: string; data: unknown }>(subject: string, events: Event[], expectedVersion: number): Promise<number> {
    const time = new Date().toISOString();
    const commit: EventEnvelope[] = events.map((e) => ({ type: e.type, data: e.data, time }));
    try {
      // One message id for every retry: a commit stored before its acknowledgement was lost is not stored twice.
      const ack = await this.js.publish(subject, JSON.stringify(commit), {
        expect: { lastSubjectSequence: expectedVersion },
        msgID: randomUUID(),
        retries: PUBLISH_RETRIES,
      });
      return ack.seq;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
        throw new ExpectedVersionConflictError(subject, expectedVersion, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Loads the aggregate, decides, appends; on a concurrent change, loads again and decides again
   * (the second decision usually refuses, e.g. "already exists").
   */
  async handle<Command, State, Event extends { type: string; data: unknown }>(
    subject: string,
    decider: Decider<Command, State, Event>,
    command: Command,
    /** The aggregate as the caller already loaded it, used for the first attempt. */
    loaded?: LoadedAggregate<Event>,
  ): Promise<{ previous: State; state: State; events: Event[]; version: number }> {
    for (let attempt = 0; ; attempt++) {
      const { events: past, version } = attempt === 0 && loaded ? loaded : await this.load<Event>(subject);
      const state = fold(decider, past);
      const events = decider.decide(command, state);
      if (events.length === 0) return { previous: state, state, events, version };
      try {
        const newVersion = await this.append(subject, events, version);
        return { previous: state, state: events.reduce(decider.evolve, state), events, version: newVersion };
      } catch (err) {
        if (!(err instanceof ExpectedVersionConflictError) || attempt >= CONFLICT_RETRIES) throw err;
      }
    }
  }

  /** The last sequence among messages on `filter` (wildcards allowed), 0 when there are none. */
  async lastSequenceOn(filter: string): Promise<number> {
    const last = await retryThroughFailover(() => this.jsm.streams.getMessage(this.stream, { last_by_subj: filter }));
    return last?.seq ?? 0;
  }

  /** Replays every commit on `filter` from the start, then follows new ones. */
  async follow(filter: string, onCommit: CommitHandler): Promise<Projection> {
    const projection = new Projection(this, this.js, filter, onCommit);
    await projection.start();
    return projection;
  }
}

/** Creates the stream unless it exists (with whatever configuration it has). */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // Another process created it between our two calls.
      if (!(addErr instanceof JetStreamApiError && addErr.code === STREAM_NAME_IN_USE)) throw addErr;
    }
  }
}

const WAIT_LOG_AFTER_MS = 3_000;

/** Waits until the stream exists: it is created by the auth service, which may start after us. */
export async function waitForStream(jsm: JetStreamManager, name: string, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  let logged = false;
  for (;;) {
    try {
      await jsm.streams.info(name);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    }
    const waited = Date.now() - started;
    if (waited > timeoutMs)
      throw new ConnectionProblemError(`the stream ${name} does not exist after ${timeoutMs / 1000}s: is the auth service running?`);
    if (!logged && waited > WAIT_LOG_AFTER_MS) {
      logged = true;
      new Logger('bus').log(`waiting for the auth service to create the stream ${name}...`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
