// @tunnelmux/history: a manager's events and per-minute path figures in SQLite (node:sqlite), and the
// availability report computed from them. The CLI opens the store, attaches a recorder to `up`, and reads it back.

export { percentile, weightedPercentile } from './percentile';
export {
  DEFAULT_MAX_BYTES,
  DEFAULT_RETENTION_MS,
  type EventSource,
  type RecordableEvent,
  Recorder,
  type RecorderOptions,
} from './recorder';
export {
  computeReport,
  type DayFigure,
  type OutageFigures,
  outagesIn,
  overlap,
  type PathReport,
  type Report,
  type ReportInput,
  runEnd,
  type Segment,
  type ServiceReport,
  type Standing,
  segmentsFrom,
  serviceStanding,
} from './report';
export type { EventRow, RunRow, SampleRow } from './rows';
export { MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion } from './schema';
export {
  type Batch,
  type EventQuery,
  HistoryError,
  HistoryStore,
  type OpenOptions,
  type PruneOptions,
  type PruneResult,
  type ReportRows,
} from './store';
