import { afterEach, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from './server';
import { fakeInstance } from './test/fake-instance';
import { openEvents } from './test/http';

let dashboard: Dashboard | undefined;
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
});

const warnings = (messages: { event?: string; data: string }[]) =>
  messages.filter((m) => m.event === undefined).map((m) => JSON.parse(m.data).message as string);

describe('GET /api/v1/events', () => {
  it('numbers every event and, after the server drops the stream, resumes from Last-Event-ID with none lost', async () => {
    const instance = fakeInstance();
    dashboard = await startDashboard({ handlers: instance.handlers });
    const first = await openEvents(dashboard.url, dashboard.token);
    await first.until((m) => m.some((x) => x.event === 'hello'), 'the hello');
    for (let i = 1; i <= 5; i++) instance.emit({ type: 'warning', message: `w${i}` });
    await first.until((m) => warnings(m).length === 5, 'five events');
    dashboard.closeStreams();
    await first.ended;
    const lastId = first.messages.at(-1)?.id;
    expect(lastId).toBeDefined();
    // Events while no client is connected.
    for (let i = 6; i <= 9; i++) instance.emit({ type: 'warning', message: `w${i}` });
    const second = await openEvents(dashboard.url, dashboard.token, { lastEventId: lastId });
    instance.emit({ type: 'warning', message: 'w10' });
    await second.until((m) => warnings(m).includes('w10'), 'the event after the reconnect');
    expect([...warnings(first.messages), ...warnings(second.messages)]).toEqual(
      Array.from({ length: 10 }, (_, i) => `w${i + 1}`),
    );
    const ids = [...first.messages, ...second.messages].filter((m) => m.id).map((m) => Number(m.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    second.close();
  });

  it('says so in a gap event when the asked id is no longer kept', async () => {
    const instance = fakeInstance();
    dashboard = await startDashboard({ handlers: instance.handlers, limits: { ringSize: 3 } });
    for (let i = 1; i <= 8; i++) instance.emit({ type: 'warning', message: `w${i}` });
    const stream = await openEvents(dashboard.url, dashboard.token, { lastEventId: '2' });
    await stream.until((m) => warnings(m).includes('w8'), 'the kept events');
    const gap = stream.messages.find((m) => m.event === 'gap');
    expect(gap && JSON.parse(gap.data)).toMatchObject({
      after: 2,
      oldest: 6,
      message: expect.stringContaining('events 3 to 5 are no longer kept'),
    });
    expect(warnings(stream.messages)).toEqual(['w6', 'w7', 'w8']);
    stream.close();
  });

  it('starts over, saying so, when the asked id is not one this instance issued (it restarted)', async () => {
    const instance = fakeInstance();
    dashboard = await startDashboard({ handlers: instance.handlers });
    for (let i = 1; i <= 3; i++) instance.emit({ type: 'warning', message: `w${i}` });
    const stream = await openEvents(dashboard.url, dashboard.token, { lastEventId: '900' });
    await stream.until((m) => warnings(m).includes('w3'), 'the kept events');
    expect(warnings(stream.messages)).toEqual(['w1', 'w2', 'w3']);
    const gap = stream.messages.find((m) => m.event === 'gap');
    expect(gap && JSON.parse(gap.data).message).toContain('event 900 is not one of this instance');
    stream.close();
  });

  it('replays recent events when asked, and filters by type', async () => {
    const instance = fakeInstance();
    dashboard = await startDashboard({ handlers: instance.handlers });
    instance.emit({ type: 'warning', message: 'old' });
    instance.setState('a', 'reconnecting');
    const stream = await openEvents(dashboard.url, dashboard.token, { query: '?recent=10&types=failover' });
    await stream.until((m) => m.some((x) => x.id), 'the replayed failover');
    const events = stream.messages.filter((m) => m.id).map((m) => JSON.parse(m.data));
    expect(events).toEqual([expect.objectContaining({ type: 'failover', from: 'a', to: 'b' })]);
    stream.close();
    const typo = await fetch(new URL('/api/v1/events?types=failover,falover', dashboard.url), {
      headers: { authorization: `Bearer ${dashboard.token}` },
    });
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as { error: { message: string } }).error.message).toMatch(
      /^\[tunnelmux\] bad request: unknown event type "falover"; expected state-change, /,
    );
  });
});
