/** The token of the signup or reset link `tctl users add|reset` prints. */
export function linkToken(tctlOutput: string, kind: 'invite' | 'reset' = 'invite'): string {
  const match = new RegExp(`https://[^\\s]+/web/${kind}/([0-9a-f]{32})\\n`).exec(tctlOutput);
  if (!match) throw new Error(`no /web/${kind}/ link in:\n${tctlOutput}`);
  return match[1]!;
}
