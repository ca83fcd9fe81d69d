// `@tunnelmux/core/services`: several services in one process, one Manager each, one status, events and metrics.

export {
  createServiceGroup,
  type GroupEventInput,
  ServiceGroup,
  type ServiceGroupMetrics,
  type ServiceGroupOptions,
  type ServiceGroupStatus,
  type ServiceStatus,
} from './service-group';
