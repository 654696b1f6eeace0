// Public exports only.
export { createCoordinator } from './coordinator.js';
export type { Coordinator } from './coordinator.js';
export type { CoordinatorOptions, TlsOptions } from './options.js';
export type { EventType, RemainingMs, SignalOptions, Watch } from './shared/vocabulary.js';
export type { DistributedLock, EtcdCompare, Lock, LockCallOptions, LockInfo, LockSettings } from './lock/interface.js';
export { MAX_LOCK_TTL_MS } from './lock/validate.js';
export type {
  CampaignOptions,
  ElectionCallOptions,
  ElectionInfo,
  LeaderElection,
  LeaderInfo,
  LeaderObservation,
  Leadership,
} from './election/interface.js';
export { DEFAULT_OPTIONS } from './options.js';
export {
  CoordinationError,
  ErrorCode,
  ErrorReason,
  isCoordinationError,
  isConnectionError,
  isTimeoutError,
  isNotFound,
  isConflict,
  isValidationError,
  isUnavailable,
  isAuthError,
  isCancelled,
  isTransient,
} from './errors.js';
export { DEFAULT_RETRY, backoffDelay } from './retry.js';
export type { RetryConfig } from './retry.js';
export { silentLogger } from './logger.js';
export type { Logger, LogFields, LogLevel } from './logger.js';
export { DEFAULT_ALLOCATE_OPTIONS } from './ids/interface.js';
export type { AllocateOptions, InstanceId, InstanceIdAllocator, InstanceIdEntry } from './ids/interface.js';
export type {
  ConfigCenter,
  ConfigEntry,
  ConfigEvent,
  ConfigReadOptions,
  ConfigSchema,
  StandardSchemaResult,
  StandardSchemaV1,
  ConfigVersion,
  ConfigWatch,
  ConfigWatchOptions,
  ConfigWriteOptions,
  LiveConfig,
  LiveOptions,
} from './config/interface.js';
export type { ServiceInfo, ServiceInput, ServiceEvent, ServiceWatch, ServiceWatchOptions, ServiceListing, ServiceRegistry, Registration, RegistrationState } from './registry/interface.js';
export { registerGrpcResolver, DEFAULT_GRPC_RESOLVER_OPTIONS } from './registry/grpc-resolver.js';
export type { GrpcResolverOptions } from './registry/grpc-resolver.js';
export { createGrpcServiceManager } from './registry/grpc-service-manager.js';
export type { GrpcServiceManager, GrpcServiceOptions } from './registry/grpc-service-manager.js';
