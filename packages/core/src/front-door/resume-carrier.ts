import { TunnelmuxError } from '../errors';
import {
  type ClientSessionEvent,
  type ResumableSession,
  resumableSession,
  type SessionCarrier,
} from '../session/client';
import { connectWithFailover } from './connect';
import type { Carrier, CarrySettings, ClientConnection } from './front-door';
import type { ConnectionMeter, RouteSource } from './route-source';

/** How the front door resumes sessions with a relay (docs/sessions.md). */
export interface ResumeSettings {
  /** The 32-byte shared key; never logged. */
  key: Buffer;
  windowMs?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  bufferBytes?: number;
}

/** One live session as status shows it. */
export interface LiveSession {
  /** The first 8 hex digits of the session id (enough to tell sessions apart, useless to an attacker). */
  session: string;
  client: string;
  path?: string;
  attached: boolean;
  openedAt: number;
  resumes: number;
  bytesIn: number;
  bytesOut: number;
}

/** Where session outcomes go: the manager turns them into events and metrics. */
export interface SessionHooks {
  event(event: ClientSessionEvent): void;
}

/** The short id shown in events and status. */
export const shortSession = (id: string | undefined) => (id ?? '').slice(0, 8);

interface Tracked {
  session: ResumableSession;
  client: ClientConnection;
  resumes: number;
}

/**
 * The resume carrier: wraps each client in a resumable session to the relay. Every carrier (first or resumed)
 * is dialled through `connectWithFailover` over the healthy routes, preferring one other than the path just
 * left; the client socket stays open across carriers.
 */
export function createResumeCarrier(settings: ResumeSettings, hooks: SessionHooks) {
  const live = new Set<Tracked>();

  const carrier: Carrier = async (client, source, carry) => {
    // Read now, once per session: a refusal may come after the session has closed the client's socket.
    const address = client.info.client;
    const tracked: Tracked = { client, resumes: 0, session: undefined as unknown as ResumableSession };
    let meter: { pathId: string; meter: ConnectionMeter; sent: number; received: number } | undefined;
    const settle = () => {
      if (!meter) return;
      const { sent, received } = tracked.session.stats();
      meter.meter.bytesOut(sent - meter.sent);
      meter.meter.bytesIn(received - meter.received);
      meter.meter.close();
      meter = undefined;
    };
    const dial = async (request: { avoid?: string; signal: AbortSignal }): Promise<SessionCarrier> => {
      const signal = AbortSignal.any([request.signal, client.signal]);
      const { connected, reasons } = await connectWithFailover(preferOther(source, request.avoid), {
        // The relay waits for our hello: never wait for it to speak first.
        protocol: 'tcp',
        dialTimeout: carry.dialTimeout,
        firstByteTimeout: carry.firstByteTimeout,
        signal,
        onAttempt: () => {
          client.info.attempts += 1;
        },
      });
      if (!connected) {
        throw new TunnelmuxError(
          reasons.length > 0
            ? `every healthy path failed (${reasons.join('; ')})`
            : `no healthy path (${source.describe()})`,
        );
      }
      const { stream, route } = connected;
      client.track(stream);
      stream.once('close', () => {
        if (meter?.pathId === route.id) settle();
      });
      return { socket: stream, path: route.id };
    };

    const onEvent = (event: ClientSessionEvent) => {
      if (event.type === 'session-opened' || event.type === 'session-resumed') {
        const path = event.type === 'session-opened' ? event.path : event.to;
        if (event.type === 'session-resumed') tracked.resumes += 1;
        settle();
        if (path) {
          // Events come asynchronously, after resumableSession() has returned: the session is set.
          const stats = tracked.session.stats();
          meter = { pathId: path, meter: source.carried(path), sent: stats.sent, received: stats.received };
          client.info.pathId = path;
        }
      }
      if (event.type === 'carrier-lost' && event.path) {
        // A carrier that died under a live session counts against its path, as a failed dial does.
        source.dialFailed(event.path, `a session's carrier was lost: ${event.reason}`);
      }
      // Only a session that never opened fails with open-failed: no path could carry the client.
      if (event.type === 'session-lost' && event.reason === 'open-failed') {
        source.refused(event.message, address);
      }
      hooks.event({ ...event, session: shortSession(event.session) });
    };

    tracked.session = resumableSession(client.socket, {
      key: settings.key,
      dial,
      windowMs: settings.windowMs,
      heartbeatMs: settings.heartbeatMs,
      deadAfterMs: settings.deadAfterMs,
      bufferBytes: settings.bufferBytes,
      onEvent,
    });
    client.info.follow(() => {
      const { received, sent } = tracked.session.stats();
      return { bytesIn: received, bytesOut: sent };
    });
    live.add(tracked);
    // The client went away before the session ended: abort it, so the relay closes the target connection.
    const gone = () => tracked.session.close('the client went away');
    client.signal.addEventListener('abort', gone, { once: true });
    try {
      await tracked.session.done;
    } finally {
      client.signal.removeEventListener('abort', gone);
      settle();
      live.delete(tracked);
    }
  };

  return {
    carrier,
    /** Sessions now open. */
    sessions(): LiveSession[] {
      return [...live]
        .filter((t) => t.session.id !== undefined)
        .map((t) => {
          const stats = t.session.stats();
          return {
            session: shortSession(t.session.id),
            client: t.client.info.client,
            path: t.session.path,
            attached: stats.attached,
            openedAt: t.client.info.openedAt,
            resumes: t.resumes,
            bytesIn: stats.received,
            bytesOut: stats.sent,
          };
        });
    },
    /** Move every session off the paths not in `healthy` (the manager took them out of rotation). */
    leave(healthy: ReadonlySet<string>): void {
      for (const t of live) {
        const path = t.session.path;
        // migrate() itself waits until the session has opened.
        if (path !== undefined && !healthy.has(path)) void t.session.migrate();
      }
    },
  };
}

export type ResumeCarrier = ReturnType<typeof createResumeCarrier>;

/** `source` with `avoid` tried last, so a resume lands on another path when there is one. */
function preferOther(source: RouteSource, avoid: string | undefined): RouteSource {
  if (avoid === undefined) return source;
  return {
    ...source,
    routes: () => {
      const routes = source.routes();
      return [...routes.filter((r) => r.id !== avoid), ...routes.filter((r) => r.id === avoid)];
    },
  };
}

export type { CarrySettings };
