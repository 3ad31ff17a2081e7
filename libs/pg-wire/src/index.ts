export { FrameTooLargeError, ProtocolViolationError } from './errors.js';
export { MessageCounter } from './framing/message-counter.js';
export { FrameScanner, type FrameScannerOptions, type Inspection, type Phase, type ScannedFrame } from './framing/frame-scanner.js';
export { parseStartupFrame, StartupCode, type StartupFrame } from './frontend/startup.js';
export { FrontendType, type FrontendMessage, type Target } from './frontend/messages.js';
export { parseFrontendMessage, parseFrontendPrefix } from './frontend/parse.js';
export { formatParameters } from './frontend/parameters.js';
export { backend, type ErrorFields, type TransactionStatus } from './backend/serialize.js';
export { BackendType } from './backend/types.js';
export {
  parseCommandComplete,
  parseDataRow,
  parseErrorFields,
  parseRowDescription,
  TRUNCATED,
  type ColumnDescription,
} from './backend/read.js';
export { readStartupFrame } from './stream/read-startup.js';
