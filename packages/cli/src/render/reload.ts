import type { ReloadReport } from '../services/events';
import { colors } from '../util/output';
import { escapeControl as t } from './text';

/** What a reload did, in one line, then one line per failure. */
export function reloadText(report: Omit<ReloadReport, 'file'> & { file?: string }): string {
  const parts = [
    report.added.length > 0 ? `added ${report.added.map(t).join(', ')}` : '',
    report.removed.length > 0 ? `removed ${report.removed.map(t).join(', ')}` : '',
    report.changed.length > 0 ? `changed ${report.changed.map(t).join(', ')}` : '',
  ].filter(Boolean);
  const head = `${colors.green('config reloaded')}${report.file ? ` from ${t(report.file)}` : ''}: ${parts.length > 0 ? parts.join('; ') : 'nothing changed'}`;
  const failures = report.failed.map(
    (failure) => `  ${colors.red('not applied')} ${t(failure.item)}: ${t(failure.reason)}`,
  );
  return [head, ...failures].join('\n');
}
