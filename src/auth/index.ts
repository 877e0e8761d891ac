// Public surface of auth: modes, accounts and sessions (JWT + rotating refresh tokens), projects
// with members and invitations, API keys and aliases, rate limits, the required-mode tenant
// resolver and the first-start bootstrap. Imports core, and storage's types for the stored-events
// probe (SQLite through the connection it is given).
export type { Principal, TokenPair } from './accounts.ts';
export { ALIAS_KINDS, type Alias, type AliasKind } from './aliases.ts';
export { type ApiKey, KEY_KINDS, type KeyKind } from './api-keys.ts';
export { type Auth, type AuthDeps, createAuth } from './auth.ts';
export {
  type BootstrapOptions,
  type BootstrapResult,
  bootstrapAuth,
  commitBootstrap,
  formatBootstrapBanner,
  type PreparedBootstrap,
  prepareBootstrap,
} from './bootstrap.ts';
export { BOUND_SETTINGS, type ProjectBounds } from './bounds.ts';
export { bearerOf, CREDENTIAL_HEADERS, readCredentialOf } from './credentials.ts';
export type { Invitation } from './invitations.ts';
export {
  ACCESS_TOKEN_CHARS_MAX,
  type AccessClaims,
  accessTokenExpiresAt,
  type JwtCheck,
  signAccessToken,
  verifyAccessToken,
} from './jwt.ts';
export {
  type AuthMode,
  type AuthModeDecision,
  type AuthModeInput,
  isLoopbackHost,
  resolveAuthMode,
} from './mode.ts';
export {
  type AuthOptions,
  type AuthRates,
  defaultAuthOptions,
  type ResolvedAuthOptions,
  resolveAuthOptions,
} from './options.ts';
export type { PasswordCost } from './passwords.ts';
export {
  presentAddedMember,
  presentAlias,
  presentInvitation,
  presentKey,
  presentMember,
  presentProject,
  presentUser,
} from './present.ts';
export { type Member, type Project, ROLES, type Role } from './projects.ts';
export {
  RATE_SWEEP_STEP,
  type RateDecision,
  type RateSpec,
  rateLimitHeaders,
  TokenBucketLimiter,
  takeOrRefuse,
  type WhenFull,
} from './rate-limit.ts';
export { constantTimeEqual, redactPath } from './secrets.ts';
export { type StoredEvents, storedEventsProbe, type TenantHoldsEvents } from './stored-events.ts';
export type { User } from './users.ts';
export {
  EMAIL_CHARS_MAX,
  EMAIL_PATTERN,
  LOGIN_PASSWORD_UNITS_MAX,
  NAME_CHARS_MAX,
  PASSWORD_CHARS_MAX,
  PASSWORD_CHARS_MIN,
} from './validate.ts';
