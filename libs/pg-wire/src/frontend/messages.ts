/** Type bytes of the messages a client sends after the startup phase. */
export const FrontendType = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  /** PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse all use 'p'. */
  PasswordMessage: 0x70, // 'p'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;
export type FrontendType = (typeof FrontendType)[keyof typeof FrontendType];

/** Describe and Close name a prepared statement ('S') or a portal ('P'). */
export type Target = 'S' | 'P';

/** A decoded client message. Byte fields share memory with the payload they were parsed from. */
export type FrontendMessage =
  | { kind: 'Query'; sql: string }
  | { kind: 'Parse'; statementName: string; sql: string; parameterTypes: number[] }
  | {
      kind: 'Bind';
      portalName: string;
      statementName: string;
      parameterFormats: number[];
      parameters: Array<Buffer | null>;
      resultFormats: number[];
    }
  | { kind: 'Describe'; target: Target; name: string }
  | { kind: 'Execute'; portalName: string; maxRows: number }
  | { kind: 'Close'; target: Target; name: string }
  | { kind: 'Sync' }
  | { kind: 'Flush' }
  | { kind: 'Terminate' }
  | { kind: 'CopyDone' }
  | { kind: 'CopyData'; data: Buffer }
  | { kind: 'CopyFail'; message: string }
  | { kind: 'FunctionCall'; functionOid: number; argumentFormats: number[]; arguments: Array<Buffer | null>; resultFormat: number }
  /** The raw 'p' payload: which message it is depends on the authentication exchange in progress. */
  | { kind: 'PasswordMessage'; data: Buffer };
