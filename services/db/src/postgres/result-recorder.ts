import { BackendType, parseDataRow, parseRowDescription, type ScannedFrame } from '#libs/pg-wire';

/** A row bigger than this is not copied out of the stream: it is recorded as its size only. */
export const MAX_RECORDED_ROW_BYTES = 1024 * 1024;

export interface RecordingLimits {
  max_rows: number;
  max_value_length: number;
}

/**
 * Beyond Teleport, when a role asks for it: the columns and first rows of each result, attached to its
 * `db.session.result` event as `result_columns`, `result_rows` and `result_rows_truncated`.
 */
export class ResultRecorder {
  private columns?: string[];
  private formats: number[] = [];
  private rows: Array<Array<string | null>> = [];
  private seen = 0;

  constructor(private readonly limits: RecordingLimits) {}

  /** Whether the relay should hand this server frame's payload over. */
  wants(type: number | null, length: number): boolean {
    if (type === BackendType.RowDescription) return true;
    return type === BackendType.DataRow && this.rows.length < this.limits.max_rows && length <= MAX_RECORDED_ROW_BYTES;
  }

  onFrame(frame: ScannedFrame): void {
    if (frame.type === BackendType.RowDescription && frame.payload) {
      this.reset();
      const columns = parseRowDescription(frame.payload);
      this.columns = columns.map((c) => c.name);
      this.formats = columns.map((c) => c.format);
    } else if (frame.type === BackendType.DataRow) {
      this.seen++;
      if (this.rows.length >= this.limits.max_rows) return;
      this.rows.push(
        frame.payload
          ? parseDataRow(frame.payload, this.formats, this.limits.max_value_length)
          : [`<row of ${frame.length} bytes, not recorded>`],
      );
    }
  }

  /** The recorded result for the event that ends it, then a fresh start. */
  take(): Record<string, unknown> {
    const fields = this.columns
      ? { result_columns: this.columns, result_rows: this.rows, result_rows_truncated: this.seen > this.rows.length }
      : {};
    this.reset();
    return fields;
  }

  reset(): void {
    this.columns = undefined;
    this.formats = [];
    this.rows = [];
    this.seen = 0;
  }
}
