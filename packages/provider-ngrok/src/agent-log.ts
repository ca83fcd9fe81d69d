// Reads what the ngrok agent v3 prints with `--log stdout --log-format json|logfmt`, and its `ERROR:` block.
import { describeNgrokCode, findNgrokCode, ngrokDocsUrl } from './errors';

/** One agent log record: `t, lvl, msg, obj` plus `addr, url, err, id, name`. */
export type AgentRecord = Record<string, string>;

/** Parse one line as a JSON or logfmt record; undefined for anything else (console text, blank lines). */
export function parseAgentRecord(line: string): AgentRecord | undefined {
  const text = line.trim();
  if (text.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(text);
      if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
      return Object.fromEntries(
        Object.entries(value).map(([key, v]) => [key, typeof v === 'string' ? v : JSON.stringify(v)]),
      );
    } catch {
      return undefined;
    }
  }
  if (!/^t=\S+ lvl=/.test(text)) return undefined;
  return parseLogfmt(text);
}

/** `key=bare key="go \"quoted\""` → an object; the first of repeated keys wins (the agent repeats `obj`). */
function parseLogfmt(text: string): AgentRecord {
  const record: AgentRecord = {};
  const pattern = /([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const key = match[1]!;
    const raw = match[2]!;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    if (!(key in record)) record[key] = value;
  }
  return record;
}

/** What the agent said, reduced to what a provider acts on. */
export type AgentEvent =
  | { kind: 'web'; addr: string }
  | { kind: 'session'; id: string }
  | { kind: 'tunnel'; url: string; name?: string; addr?: string }
  | { kind: 'error'; code?: number; err: string; msg: string };

/** Classify one printed line (JSON or logfmt record); undefined for lines that matter to nobody. */
export function agentEvent(line: string): AgentEvent | undefined {
  const record = parseAgentRecord(line);
  if (!record) return undefined;
  if (record.msg === 'starting web service' && record.addr) return { kind: 'web', addr: record.addr };
  if (record.msg === 'client session established') return { kind: 'session', id: record.id ?? '' };
  if (record.msg === 'started tunnel' && record.url) {
    return { kind: 'tunnel', url: record.url, name: record.name, addr: record.addr };
  }
  if ((record.lvl === 'eror' || record.lvl === 'crit') && record.err) {
    return { kind: 'error', code: findNgrokCode(record.err), err: record.err, msg: record.msg ?? '' };
  }
  return undefined;
}

/** An ERR_NGROK failure the agent reported, explained. */
export interface AgentFailure {
  code: number;
  /** The agent's own first line, e.g. `authentication failed: Usage of ngrok requires …`; tokens masked. */
  detail: string;
  meaning: string;
  fix?: string;
  fatal: boolean;
  docs: string;
  /** One sentence for an error message. */
  message: string;
}

/** The agent echoes a rejected authtoken (`Your authtoken: …`); never pass it on. */
export function maskTokens(text: string): string {
  return text.replace(/(Your (?:authtoken|authentication|credential|key):\s*)"?[^\s"]+"?/gi, '$1***');
}

function firstLine(text: string): string {
  const body = text.replace(/\r/g, '').replace(/\n*ERR_NGROK_\d+\n*$/, '');
  return maskTokens(body.split('\n').find((line) => line.trim() !== '') ?? '').trim();
}

/**
 * Find the first ERR_NGROK failure in what the agent printed: error records (JSON or logfmt, `lvl=eror|crit`),
 * the `ERROR:` console block, or any other line carrying `ERR_NGROK_<n>` (e.g. `error_code: ERR_NGROK_4018`).
 */
export function parseAgentFailure(lines: readonly string[]): AgentFailure | undefined {
  let code: number | undefined;
  let detail = '';
  const block: string[] = [];
  for (const line of lines) {
    const event = agentEvent(line);
    if (event?.kind === 'error' && event.code !== undefined) {
      code ??= event.code;
      if (!detail && event.code === code) detail = firstLine(event.err);
      continue;
    }
    const console = /^ERROR:\s?(.*)$/.exec(line.trimEnd());
    if (console) {
      block.push(console[1]!.trim());
      continue;
    }
    if (!parseAgentRecord(line)) code ??= findNgrokCode(line);
  }
  if (block.length > 0) {
    code ??= findNgrokCode(block.join('\n'));
    if (!detail)
      detail = firstLine(block.filter((line) => !line.startsWith('https://ngrok.com/docs/')).join('\n'));
  }
  if (code === undefined) return undefined;
  const info = describeNgrokCode(code);
  const docs = ngrokDocsUrl(code);
  const parts = [`ngrok agent failed with ERR_NGROK_${code}: ${info.meaning}`];
  if (detail) parts[0] += ` ("${detail}")`;
  if (info.fix) parts.push(info.fix);
  parts.push(`see ${docs}`);
  return {
    code,
    detail,
    meaning: info.meaning,
    fix: info.fix,
    fatal: info.fatal,
    docs,
    message: parts.join('; '),
  };
}
