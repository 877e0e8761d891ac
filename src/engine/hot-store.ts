// Acknowledged events held in memory, by (tenant, event_id), so reads see them at once. The
// memory they take is estimated from their encoded size and bounded by `hotBytesMax`: past
// it, ingest answers 503 instead of growing without end.

import { eventKey, type StoredEvent } from '../core/index.ts';

/** Rough in-memory cost of a decoded event relative to its JSON encoding, plus fixed overhead. */
const OBJECT_BYTES_PER_JSON_BYTE = 2;
const OBJECT_BYTES_FIXED = 200;

export class HotStore {
  private readonly events = new Map<string, StoredEvent>();
  private estimatedBytes = 0;

  add(event: StoredEvent, encodedBytes: number): void {
    this.events.set(eventKey(event.tenant, event.event_id), event);
    this.estimatedBytes += costOf(encodedBytes);
  }

  get(tenant: string, eventId: string): StoredEvent | undefined {
    return this.events.get(eventKey(tenant, eventId));
  }

  get bytes(): number {
    return this.estimatedBytes;
  }

  get size(): number {
    return this.events.size;
  }
}

export function costOf(encodedBytes: number): number {
  return encodedBytes * OBJECT_BYTES_PER_JSON_BYTE + OBJECT_BYTES_FIXED;
}
