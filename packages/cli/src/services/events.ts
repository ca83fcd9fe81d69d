/** What a reload did: the lists `reload --json` prints and the `config-reloaded` event carries. */
export interface ReloadReport {
  /** The config file that was read. */
  file: string;
  /** Services by name, paths as `service/path`. */
  added: string[];
  removed: string[];
  /** Paths as `service/path` (replaced new-before-old), settings as `service:failover`, `service:listen`, ... */
  changed: string[];
  /** What could not be applied, with why; everything else was. */
  failed: { item: string; reason: string }[];
}
