import { BadParameterError } from '#libs/common';

/** `tsh db ls k=v,k2=v2`: databases must carry every one of these labels with exactly that value. */
export function parseLabelSelector(text: string | undefined): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim();
    if (!key) throw new BadParameterError(`invalid label selector "${part}": expected key=value[,key=value...]`);
    selector[key] = part.slice(eq + 1).trim();
  }
  return selector;
}

export function matchesSelector(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

/** Labels as tsh prints them: `k=v` sorted by key, comma-separated. */
export function formatLabels(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}
