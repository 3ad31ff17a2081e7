import { BadParameterError } from './errors.js';
import { checkSessionId } from './session-id.js';

describe('checkSessionId', () => {
  it('takes a UUID in either case', () => {
    expect(() => checkSessionId('307b49d6-56c7-4d20-8cf0-5bc5348a7101')).not.toThrow();
    expect(() => checkSessionId('307B49D6-56C7-4D20-8CF0-5BC5348A7101')).not.toThrow();
  });

  it("refuses anything else with Teleport's message", () => {
    for (const sid of ['', 'abc', '307b49d6-56c7-4d20-8cf0-5bc5348a710', '307b49d6-56c7-4d20-8cf0-5bc5348a7101\n', '../x']) {
      expect(() => checkSessionId(sid)).toThrow(new BadParameterError(`'${sid}' is not a valid session ID (must be GUID)`));
    }
  });
});
