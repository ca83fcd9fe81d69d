import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';

/** How long the config must stay quiet before `up --watch` reloads: a burst of writes gives one reload. */
export const WATCH_DEBOUNCE_MS = 300;

/**
 * Call `onChange` once the config file has stopped changing for `debounceMs`. Watches the file's folder, not the
 * file: editors that save by writing a new file and renaming it over the old one replace the inode a file watch
 * would follow, and the folder still sees the new file arrive.
 */
export function watchConfig(
  file: string,
  onChange: () => void,
  options: { debounceMs?: number } = {},
): { close(): void } {
  const debounceMs = options.debounceMs ?? WATCH_DEBOUNCE_MS;
  const dir = path.dirname(file);
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  };
  const watcher: FSWatcher = watch(dir, { persistent: false }, (_event, name) => {
    // Some platforms give no name; then any change in the folder may be the config.
    if (name === null || name === base) changed();
  });
  // A folder that goes away ends the watch; `up` keeps running with the config it has.
  watcher.on('error', () => watcher.close());
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
