// A light entry point: event names and types only, so tools can validate `--type` without loading the engine.
export { EVENT_TYPES, type EventOf, type EventType, type TunnelmuxEvent } from './types';
