// Public exports only (the root entry; the gRPC helpers are on ./grpc.ts).
export { createCoordinator } from './coordinator.js';
export type { Coordinator } from './coordinator.js';
export type { CoordinatorOptions, TlsOptions } from './options.js';
export type { KeyPrefixes } from './layout.js';
export type { EventType, HolderInfo, OwnershipCondition, RemainingMs, SignalOptions, Watch } from './shared/vocabulary.js';
export type { DistributedLock, Lock, LockInfo, LockSettings } from './lock/interface.js';
export type { Permit, PermitOptions, Semaphore, SemaphoreInfo } from './semaphore/interface.js';
export type { ReadWriteLock, RwLockHandle, RwLockInfo, RwLockOptions } from './rwlock/interface.js';
export type { CampaignOptions, ElectionInfo, LeaderElection, LeaderEvent, LeaderInfo, LeaderObservation, Leadership } from './election/interface.js';
export { DEFAULT_TTL_MS, MIN_TTL_MS, MAX_TTL_MS } from './ttl.js';
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
export { DEFAULT_RETRY } from './retry.js';
export type { RetryConfig } from './retry.js';
export { silentLogger } from './logger.js';
export type { Logger, LogFields, LogLevel } from './logger.js';
export { DEFAULT_ALLOCATE_OPTIONS } from './ids/interface.js';
export type { AllocateOptions, InstanceId, InstanceIdAllocator, InstanceIdEntry } from './ids/interface.js';
export type {
  ConfigCenter,
  ConfigEntry,
  ConfigEvent,
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
// The gRPC helpers (registerGrpcResolver, createGrpcServiceManager) are on `@gochat/coordination/grpc`
// (src/grpc.ts): nothing here may load @grpc/grpc-js.
