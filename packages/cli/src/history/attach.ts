import type { EventSource, HistoryStore } from '@tunnelmux/history';
import type { LoadedConfig } from '../config/load';
import { messageOf } from '../util/errors';
import { historyFile } from './location';
import { loadHistory } from './open';
import { historyProvider } from './provider';

/** What `up` holds while it records; `close` writes the last batch and marks the run stopped. */
export interface AttachedHistory {
  file: string;
  /** What the dashboard serves as `GET history` / `GET report`, read from the same file. */
  provider: ReturnType<typeof historyProvider>;
  close(): void;
}

/**
 * Record `events` (core's `manager.events`) into the config's history file for as long as `up` runs. A file that
 * cannot be opened (a newer schema, no permission) is reported through `note` and `up` runs without history.
 */
export async function attachHistory(
  events: EventSource,
  loaded: Pick<LoadedConfig, 'config' | 'dir'>,
  instance: string,
  note: (text: string) => void,
): Promise<AttachedHistory | undefined> {
  const { config } = loaded;
  if (config.history?.enabled === false) return undefined;
  const file = historyFile(config.state, loaded.dir);
  let store: HistoryStore;
  let history: typeof import('@tunnelmux/history');
  try {
    history = await loadHistory();
  } catch (error) {
    note(`${messageOf(error)}; running without history`);
    return undefined;
  }
  const { HistoryStore, Recorder, computeReport } = history;
  try {
    store = HistoryStore.open(file);
  } catch (error) {
    note(`${messageOf(error)}; running without history`);
    return undefined;
  }
  const recorder = new Recorder({
    store,
    instance,
    retentionMs: config.history?.retention,
    maxBytes: config.history?.maxSize,
    onError: (error) => note(`${error.message} (will retry; history is kept in memory meanwhile)`),
  }).attach(events);
  return {
    file,
    provider: historyProvider(store, instance, computeReport),
    close() {
      recorder.close();
      store.close();
    },
  };
}
