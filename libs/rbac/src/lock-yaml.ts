import { stringify } from 'yaml';
import type { Lock } from './lock.js';

/** The lock as `tctl get lock/NAME` prints it: kind, version, metadata, spec; absent fields left out. */
export function lockToYaml(lock: Lock): string {
  const { target, ...rest } = lock.spec;
  const spec = {
    target: { ...(target.user !== undefined ? { user: target.user } : {}), ...(target.role !== undefined ? { role: target.role } : {}) },
    ...(rest.message !== undefined ? { message: rest.message } : {}),
    ...(rest.expires !== undefined ? { expires: rest.expires } : {}),
    ...(rest.created_at !== undefined ? { created_at: rest.created_at } : {}),
    ...(rest.created_by !== undefined ? { created_by: rest.created_by } : {}),
  };
  const metadata = {
    name: lock.metadata.name,
    ...(lock.metadata.description !== undefined ? { description: lock.metadata.description } : {}),
  };
  return stringify({ kind: lock.kind, version: lock.version, metadata, spec });
}
