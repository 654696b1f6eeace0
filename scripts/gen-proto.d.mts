/** protobufjs's JSON descriptor of proto/rpc.proto (+ kv.proto), parsed now from the .proto files. */
export declare function descriptor(): unknown;
