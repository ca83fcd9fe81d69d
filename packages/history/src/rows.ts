/** One recorded event: the columns queries filter on, and the event itself. */
export interface EventRow {
  id: number;
  time: number;
  instance: string;
  /** The run that wrote it; null for rows from a schema without runs. */
  run: string | null;
  service: string;
  type: string;
  path: string | null;
  event: Record<string, unknown>;
}

/** One path's figures over one minute of one run. */
export interface SampleRow {
  /** Epoch ms of the minute's start. */
  minute: number;
  instance: string;
  run: string | null;
  service: string;
  path: string;
  probes: number;
  failures: number;
  latMin: number | null;
  latP50: number | null;
  latP99: number | null;
  latMax: number | null;
  bytesIn: number;
  bytesOut: number;
  /** Client connections opened through the path in this minute. */
  connections: number;
}

/** One recorder's life: from start to its clean stop, or to its last heartbeat when it was killed. */
export interface RunRow {
  id: string;
  instance: string;
  pid: number | null;
  started: number;
  lastSeen: number;
  stopped: number | null;
}
