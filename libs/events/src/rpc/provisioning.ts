import { z } from 'zod';
import { AutoUserSchema } from './data-plane.js';

// Payloads of the provisioning service's subjects, `provisioning.<database>.<verb>`: a Database Service
// asks for its session's database user to be activated before it connects as it, and deactivated after.

/** An audit event provisioning produced: the Database Service emits it in the session's own order. */
export const ProvisioningEventSchema = z
  .object({ event: z.string(), code: z.string(), fields: z.record(z.string(), z.unknown()) })
  .strict();
export type ProvisioningEvent = z.infer<typeof ProvisioningEventSchema>;

/** What the client sees when provisioning refuses: SQLSTATE, message, detail and hint. */
export const RefusalSchema = z
  .object({ code: z.string(), message: z.string(), detail: z.string().optional(), hint: z.string().optional() })
  .strict();

/** The session (by id, confirmed with the broker) whose user to activate in `database`. */
export const ActivateRequest = z
  .object({ sid: z.uuid(), user: z.string().min(1), database: z.string().min(1), auto_user: AutoUserSchema })
  .strict();
/**
 * Activated: the user is ready and the provisioning replica holds the user's lock until the Database
 * Service has connected as it and said so on `release` (a verb of that replica); or refused.
 */
export type ActivateReply =
  | { ok: true; release: string; lease: string; events: ProvisioningEvent[] }
  | { ok: false; refusal: z.infer<typeof RefusalSchema>; events: ProvisioningEvent[] };

/** The Database Service connected as the user (its backend's process id), or could not. */
export const ReleaseRequest = z.union([
  z.object({ lease: z.string(), process_id: z.number().int() }).strict(),
  z.object({ lease: z.string(), failed: z.literal(true) }).strict(),
]);

/** The session ended: deactivate its user unless other sessions of it live. */
export const DeactivateRequest = z
  .object({
    sid: z.uuid(),
    user: z.string().min(1),
    database: z.string().min(1),
    auto_user: AutoUserSchema,
    process_id: z.number().int(),
  })
  .strict();

export interface EventsReply {
  events: ProvisioningEvent[];
}
