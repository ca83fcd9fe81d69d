// @tunnelmux/dashboard: a local web page and HTTP API over a running instance's control handlers.

// Serve it: the CLI calls this with the handlers its control socket uses.
export { type Dashboard, type DashboardOptions, startDashboard } from './server';
// What it needs from the instance, and the optional history behind `GET history` / `GET report`.
export type { DashboardHandlers, EventsAnswer, HistoryProvider, HistoryQuery } from './types';
// Its bounds and its errors.
export { DEFAULT_LIMITS, type DashboardLimits } from './app';
export { DashboardError } from './errors';
