// Public surface of live: the hub that fans counter snapshots out to WebSocket subscribers,
// its limits, and the message schemas (the protocol, and the OpenAPI components).

export type { LiveAdmission } from './admission.ts';
export { CLOSE_INTERNAL_ERROR } from './close-codes.ts';
export type {
  LiveActor,
  LiveCredentials,
  LivePublisher,
  LiveRollups,
  LiveSocket,
  LiveSource,
} from './feed.ts';
export { LiveHub, type LiveHubDeps } from './hub.ts';
export {
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
export { liveMessageBytesMax } from './message-size.ts';
export {
  CREDENTIALS_RECHECK_MS,
  CREDENTIALS_RECHECK_SOON_MS,
  CREDENTIALS_UNCHECKED_ROUNDS_MAX,
} from './recheck.ts';
export {
  LiveServerMessage,
  type LiveServerMessageBody,
  liveSchemas,
} from './schema.ts';
export type { LiveStats } from './stats.ts';
