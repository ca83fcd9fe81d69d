import { formatDuration } from '@tunnelmux/core/config';
import { messageOf } from '../util/errors';
import { WATCH_DEBOUNCE_MS, watchConfig } from './watch';

/**
 * SIGHUP (and, with `watch`, changes to the config file) reload the running config. A refused or failed reload
 * is reported through `note`; the running config stays as it was.
 */
export function reloadTriggers(
  file: string,
  reload: () => Promise<unknown>,
  options: { watch: boolean; note: (text: string, level?: 'warn' | 'error') => void },
): { close(): void } {
  const run = (why: string) => {
    reload().catch((error: unknown) =>
      options.note(
        `[tunnelmux] reload (${why}) refused; still running the previous config:\n${messageOf(error)}`,
        'error',
      ),
    );
  };
  const onHangup = () => run('SIGHUP');
  process.on('SIGHUP', onHangup);
  const watcher = options.watch
    ? watchConfig(file, () => run(`${file} changed, quiet for ${formatDuration(WATCH_DEBOUNCE_MS)}`))
    : undefined;
  return {
    close() {
      process.off('SIGHUP', onHangup);
      watcher?.close();
    },
  };
}
