// Every tunable of auth, with its default. main.ts fills these from config; tests pass small
// values (cheap password hashing, tight rate limits) directly.

import { defaultPasswordCost, type PasswordCost } from './passwords.ts';
import type { RateSpec } from './rate-limit.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export interface AuthRates {
  /** Ingest requests per write key (and per tenant for keyless alias beacons). */
  write: RateSpec;
  /** Read requests per read key or per user. */
  read: RateSpec;
  /** Login attempts per email address. */
  loginEmail: RateSpec;
  /** Login attempts per client IP. */
  loginIp: RateSpec;
  /** Accounts registered per client IP (each costs a password hash; admins are exempt). */
  registerIp: RateSpec;
}

export interface AuthOptions {
  accessTtlMs: number;
  refreshTtlMs: number;
  /** A new JWT signing secret is made when the current one is this old. */
  signingKeyRotateMs: number;
  /** When false, only an admin can create accounts (POST /api/v1/auth/register with a JWT). */
  registrationOpen: boolean;
  passwordCost: PasswordCost;
  rates: AuthRates;
  /** Buckets each rate limiter keeps in memory before dropping the least recently used. */
  rateKeysMax: number;
}

export const defaultAuthOptions: AuthOptions = {
  accessTtlMs: 15 * MINUTE_MS,
  refreshTtlMs: 30 * DAY_MS,
  signingKeyRotateMs: 30 * DAY_MS,
  registrationOpen: true,
  passwordCost: defaultPasswordCost,
  rates: {
    write: { perSecond: 1000, burst: 2000 },
    read: { perSecond: 20, burst: 100 },
    loginEmail: { perSecond: 5 / 60, burst: 5 },
    loginIp: { perSecond: 30 / 60, burst: 30 },
    registerIp: { perSecond: 20 / 3600, burst: 20 },
  },
  rateKeysMax: 100_000,
};
