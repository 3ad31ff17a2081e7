import { z } from 'zod';
import { BadParameterError, parseDuration } from '#libs/common';
import { isRegexValue, labelValues, regexProblem, type LabelSelector, type Labels } from './labels.js';
import { VERBS } from './rules.js';
import { isTemplate, templateProblem } from './template.js';

export const ROLE_VERSIONS = ['v3', 'v4', 'v5', 'v6', 'v7'] as const;
export type RoleVersion = (typeof ROLE_VERSIONS)[number];

export const CREATE_DB_USER_MODES = ['off', 'keep', 'best_effort_drop'] as const;
export type CreateDbUserMode = (typeof CREATE_DB_USER_MODES)[number];

export type RoleConditions = {
  db_labels?: LabelSelector;
  db_names?: string[];
  db_users?: string[];
  db_roles?: string[];
  db_permissions?: Array<{ match: Record<string, string | string[]>; permissions: string[] }>;
  rules?: Array<{ resources: string[]; verbs: string[] }>;
  impersonate?: { users?: string[]; roles?: string[] };
};

/** Beyond Teleport: the first rows of each query result go into the audit log, so playback shows them. */
export type ResultRecording = { max_rows: number; max_value_length: number };
export const DEFAULT_RECORDED_VALUE_LENGTH = 256;

export type Role = {
  kind: 'role';
  version: RoleVersion;
  metadata: { name: string; description?: string; labels?: Labels };
  spec: {
    options: {
      max_session_ttl?: string;
      create_db_user_mode?: CreateDbUserMode;
      require_session_mfa?: boolean;
      record_query_results?: ResultRecording;
    };
    allow: RoleConditions;
    deny: RoleConditions;
  };
};

const ROLE_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

function oneOf(values: readonly string[]): string {
  return `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

function enumError(what: string, values: readonly string[]) {
  return (iss: { input?: unknown }) =>
    iss.input === undefined ? 'required' : `unknown ${what} ${JSON.stringify(iss.input)} (use ${oneOf(values)})`;
}

const templatedList = z.array(z.string()).superRefine((values, ctx) => {
  values.forEach((value, i) => {
    const problem = templateProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [i] });
  });
});

const labelValue = z.union([z.string(), z.array(z.string())], { error: 'expected a string or a list of strings' });

const labelSelector = z.record(z.string(), labelValue).superRefine((selector, ctx) => {
  for (const [key, value] of Object.entries(selector)) {
    for (const v of labelValues(value)) {
      const problem = isTemplate(v)
        ? templateProblem(v)
        : isRegexValue(v) && regexProblem(v) !== undefined
          ? `${JSON.stringify(v)} is not a valid regular expression (${regexProblem(v)})`
          : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [key] });
    }
  }
});

const duration = z.string().superRefine((text, ctx) => {
  try {
    if (parseDuration(text) <= 0) ctx.addIssue({ code: 'custom', message: `duration "${text}" must be greater than zero` });
  } catch (err) {
    if (!(err instanceof BadParameterError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
});

const conditions = z.strictObject({
  db_labels: labelSelector.optional(),
  db_names: templatedList.optional(),
  db_users: templatedList.optional(),
  db_roles: templatedList.optional(),
  db_permissions: z
    .array(
      z.strictObject({
        match: z.record(z.string(), labelValue),
        permissions: z.array(z.string()),
      }),
    )
    .optional(),
  rules: z
    .array(
      z.strictObject({
        resources: z.array(z.string()),
        verbs: z.array(z.enum([...VERBS, '*'], { error: enumError('verb', [...VERBS, '*']) })),
      }),
    )
    .optional(),
  impersonate: z.strictObject({ users: templatedList.optional(), roles: templatedList.optional() }).optional(),
});

// A missing or empty (`deny:` with nothing under it) section is an empty mapping.
function orEmpty<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => value ?? {}, schema);
}

/** A role resource as users write it in YAML; the output has defaults filled. */
export const RoleSchema: z.ZodType<Role> = z
  .strictObject({
    kind: z.literal('role', {
      error: (iss) => (iss.input === undefined ? 'required (set kind: role)' : `must be "role", got ${JSON.stringify(iss.input)}`),
    }),
    version: z.enum(ROLE_VERSIONS, {
      error: (iss) =>
        iss.input === undefined ? 'required' : `unsupported version ${JSON.stringify(iss.input)} (use ${oneOf(ROLE_VERSIONS)})`,
    }),
    metadata: z.strictObject({
      name: z.string().regex(ROLE_NAME, {
        error: (iss) => `${JSON.stringify(iss.input)} is not a valid role name: use 1 to 64 letters, digits, ".", "_", "@" or "-"`,
      }),
      description: z.string().optional(),
      labels: z.record(z.string(), z.string()).optional(),
    }),
    spec: orEmpty(
      z.strictObject({
        options: orEmpty(
          z.strictObject({
            max_session_ttl: duration.optional(),
            create_db_user_mode: z.enum(CREATE_DB_USER_MODES, { error: enumError('mode', CREATE_DB_USER_MODES) }).optional(),
            require_session_mfa: z.boolean().optional(),
            record_query_results: z
              .strictObject({
                max_rows: z.number().int().min(1).max(1000, 'at most 1000 rows per result are recorded'),
                max_value_length: z.number().int().min(1).max(65_536).default(DEFAULT_RECORDED_VALUE_LENGTH),
              })
              .optional(),
          }),
        ),
        allow: orEmpty(conditions),
        deny: orEmpty(conditions),
      }),
    ),
  })
  .transform((role): Role => {
    // v3 roles allow every database when allow.db_labels is unset; v4 and later allow none.
    if (role.version !== 'v3' || role.spec.allow.db_labels !== undefined) return role;
    return { ...role, spec: { ...role.spec, allow: { ...role.spec.allow, db_labels: { '*': '*' } } } };
  });

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

const EXPECTED: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  string: 'a string',
  boolean: 'true or false',
};

function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return `${typeof input} ${JSON.stringify(input)}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `${formatPath([...issue.path, issue.keys[0]!])}: unknown field`;
  }
  const path = formatPath(issue.path);
  if (issue.code === 'invalid_type') {
    if (path === '') return `expected a role mapping with kind, version, metadata and spec, got ${describeInput(issue.input)}`;
    if (issue.input === undefined) return `${path}: required`;
    return `${path}: expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeInput(issue.input)}`;
  }
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

function nameOf(input: unknown): string | undefined {
  const name = (input as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' && ROLE_NAME.test(name) ? name : undefined;
}

/** Validates a role resource (parsed YAML or JSON) and fills its defaults. */
export function parseRole(input: unknown): Role {
  const result = RoleSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const name = nameOf(input);
  throw new BadParameterError(`invalid role${name ? ` "${name}"` : ''}: ${describeIssue(result.error.issues[0]!)}`);
}
