// What names the person of an erasure (POST /api/v1/projects/{id}/erasures): one of the
// stored event's person fields, as PostHog's distinct_id and Segment's userId/anonymousId do.

/** The event fields an erasure may name the person by. */
export const ERASURE_FIELDS = ['user_id', 'anonymous_id', 'visitor_id'] as const;
export type ErasureField = (typeof ERASURE_FIELDS)[number];
