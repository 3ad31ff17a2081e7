/** One event as stored in a stream message: JSON `{ type, data, time }`. A message holds one commit: a list of events. */
export interface EventEnvelope<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** RFC 3339 with milliseconds. */
  time: string;
}

export type EventOf<Map extends Record<string, unknown>> = {
  [K in keyof Map & string]: { type: K; data: Map[K] };
}[keyof Map & string];
