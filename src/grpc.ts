// `@gochat/coordination/grpc`: the gRPC helpers, on an entry of their own so that the root entry never
// loads @grpc/grpc-js (an optional peer: only apps that import this entry install it). They take the
// registry of a coordinator made by the root entry's createCoordinator().
export { registerGrpcResolver, DEFAULT_GRPC_RESOLVER_OPTIONS } from './registry/grpc-resolver.js';
export type { GrpcResolverOptions } from './registry/grpc-resolver.js';
export { createGrpcServiceManager } from './registry/grpc-service-manager.js';
export type { GrpcServiceManager, GrpcServiceOptions } from './registry/grpc-service-manager.js';
