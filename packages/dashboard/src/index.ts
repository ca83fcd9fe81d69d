// @tunnelmux/dashboard: a local web page and HTTP API over a running instance's control handlers.

// Its bounds and its errors.
export { type DashboardLimits, DEFAULT_LIMITS } from './app';
export { DashboardError } from './errors';
// Serve it: the CLI calls this with the handlers its control socket uses.
export { type Dashboard, type DashboardOptions, startDashboard } from './server';
// What it needs from the instance, and the optional history behind `GET history` / `GET report`.
export type { DashboardHandlers, EventsAnswer, HistoryProvider, HistoryQuery } from './types';
