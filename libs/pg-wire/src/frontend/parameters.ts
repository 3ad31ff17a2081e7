// Format codes of Bind parameters and FunctionCall arguments.
const TEXT = 0;
const BINARY = 1;

/**
 * Bind/FunctionCall values as Teleport's audit log writes them: text (format 0) as the string, binary
 * (format 1) as base64, any other code as "<unknown>", NULL as null. Per the protocol, no format codes
 * means all text and a single code applies to every value. A value without a code of its own (a count
 * mismatch the server rejects) is also "<unknown>".
 */
export function formatParameters(formats: number[], values: Array<Buffer | null>): Array<string | null> {
  return values.map((value, i) => {
    if (value === null) return null;
    const format = formats.length === 0 ? TEXT : formats.length === 1 ? formats[0] : formats[i];
    if (format === TEXT) return value.toString('utf8');
    if (format === BINARY) return value.toString('base64');
    return '<unknown>';
  });
}
