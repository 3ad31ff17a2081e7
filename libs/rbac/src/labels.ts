export type Labels = Record<string, string>;
export type LabelSelector = Record<string, string | string[]>;

/** 'invalid': a regular expression value that does not compile (only reachable through trait expansion). */
export type SelectorResult = 'match' | 'no-match' | 'invalid';

const WILDCARD = '*';
const CACHE_LIMIT = 1_000;
const compiled = new Map<string, RegExp | null>();

export function labelValues(value: string | string[]): string[] {
  return typeof value === 'string' ? [value] : value;
}

/** A label value written `^...$` is a regular expression; any other value is a glob. */
export function isRegexValue(value: string): boolean {
  return value.startsWith('^') && value.endsWith('$');
}

/** Why a `^...$` value does not compile, or undefined when it does. */
export function regexProblem(value: string): string | undefined {
  try {
    new RegExp(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split(WILDCARD)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

function patternFor(value: string): RegExp | null {
  let re = compiled.get(value);
  if (re !== undefined) return re;
  if (compiled.size >= CACHE_LIMIT) compiled.clear();
  re = isRegexValue(value) ? (regexProblem(value) === undefined ? new RegExp(value) : null) : globToRegExp(value);
  compiled.set(value, re);
  return re;
}

/**
 * Teleport's label rules: an empty selector matches nothing; `'*': '*'` matches everything, even a
 * database without labels; otherwise every selector key must exist on the database and its value
 * match one of the selector's values (`*` any value, `^...$` a regular expression, else an anchored glob).
 */
export function evaluateSelector(selector: LabelSelector | undefined, labels: Labels): SelectorResult {
  if (!selector) return 'no-match';
  const entries = Object.entries(selector);
  if (entries.length === 0) return 'no-match';
  const wildcard = selector[WILDCARD];
  if (Object.hasOwn(selector, WILDCARD) && wildcard !== undefined && labelValues(wildcard).includes(WILDCARD)) {
    return 'match';
  }
  for (const [key, value] of entries) {
    if (!Object.hasOwn(labels, key)) return 'no-match';
    const values = labelValues(value);
    if (values.includes(WILDCARD)) continue;
    const actual = labels[key]!;
    let matched = false;
    for (const candidate of values) {
      const re = patternFor(candidate);
      if (re === null) return 'invalid';
      if (re.test(actual)) {
        matched = true;
        break;
      }
    }
    if (!matched) return 'no-match';
  }
  return 'match';
}

export function matchLabels(selector: LabelSelector | undefined, labels: Labels): boolean {
  return evaluateSelector(selector, labels) === 'match';
}
