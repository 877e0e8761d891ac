// Derives the fields of an event the client does not send: os, browser, device and is_bot from
// the user agent, visitor_id (user_id, else anonymous_id, else a keyed daily hash of tenant, ip
// and user agent), and country from the ip when a GeoIP database is configured (GEOIP_DB; see
// country-db.ts). The client IP is used for these and then dropped unless the operator chose to
// store IPs (and the event's API records the address it names). Without a database, country is
// null and nothing is looked up, unless a proxy in front named it (BaseEvent's `edgeCountry`).

import { type BaseEvent, type Clock, DAY_MS, type StoredEvent, utcDay } from '../core/index.ts';
import type { CountryLookup } from './country-db.ts';
import { deriveUserAgent } from './user-agent.ts';
import { DailySalts, type SaltStore, visitorId } from './visitor-id.ts';

export interface SaltCatalog {
  loadSalt(day: string): string | null;
  saveSalt(day: string, salt: string, keepFromDay: string): void;
}

export class Enricher {
  private readonly salts: DailySalts;

  constructor(
    catalog: SaltCatalog,
    clock: Clock,
    private readonly storeIp: boolean,
    private readonly countries: CountryLookup | null = null,
  ) {
    const store: SaltStore = {
      load: (day) => catalog.loadSalt(day),
      // Forget salts older than yesterday, so a visitor cannot be linked across days.
      save: (day, salt) => catalog.saveSalt(day, salt, utcDay(clock.now() - DAY_MS)),
    };
    this.salts = new DailySalts(store);
  }

  enrich(input: BaseEvent): StoredEvent {
    const located = input.geoip !== false;
    const keepsIp = this.storeIp && input.storeIp !== false;
    // The flags are not stored; an event without them (nearly all) is not copied for them.
    const flagged = !located || input.storeIp !== undefined || input.edgeCountry !== undefined;
    const e = flagged ? withoutFlags(input) : input;
    const ua = deriveUserAgent(e.user_agent);
    return {
      ...e,
      ip: keepsIp ? e.ip : null,
      os: ua.os,
      browser: ua.browser,
      device: ua.device,
      is_bot: ua.is_bot,
      visitor_id: visitorId({
        tenant: e.tenant,
        userId: e.user_id,
        anonymousId: e.anonymous_id,
        ip: e.ip,
        userAgent: e.user_agent,
        salt: this.salts.saltFor(e.received_at),
      }),
      country: located ? (input.edgeCountry ?? this.countries?.countryOf(e.ip) ?? null) : null,
    };
  }
}

function withoutFlags({ geoip: _, storeIp: __, edgeCountry: ___, ...event }: BaseEvent): BaseEvent {
  return event;
}
