// Public surface of live: the hub that fans counter snapshots out to WebSocket subscribers,
// its limits, and the message schemas (the protocol, and the OpenAPI components).

export type { LiveAdmission } from './admission.ts';
export {
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL_ERROR,
  CLOSE_POLICY_VIOLATION,
  CLOSE_TENANT_DELETED,
  CLOSE_TRY_AGAIN_LATER,
} from './close-codes.ts';
export type {
  LiveActor,
  LiveCredentials,
  LivePublisher,
  LiveRollups,
  LiveSocket,
  LiveSource,
} from './feed.ts';
export { LiveHub, type LiveHubDeps, type LiveStats } from './hub.ts';
export {
  BUN_BACKPRESSURE_LIMIT_BYTES,
  checkLiveLimits,
  defaultLiveLimits,
  HEARTBEAT_INTERVAL_MS_MAX,
  type LiveLimits,
  liveSocketSettings,
} from './limits.ts';
export {
  heartbeatMessage,
  renderSnapshotContent,
  snapshotMessage,
} from './message.ts';
export {
  CREDENTIALS_RECHECK_MS,
  CREDENTIALS_UNCHECKED_ROUNDS_MAX,
  OPEN_CREDENTIALS,
} from './recheck.ts';
export {
  LiveClientMessage,
  type LiveClientMessageBody,
  LiveErrorMessage,
  LiveHeartbeatMessage,
  LiveServerMessage,
  type LiveServerMessageBody,
  type LiveSnapshot,
  LiveSnapshotMessage,
  LiveSubscribeMessage,
  liveSchemas,
} from './schema.ts';
