// The body of POST /api/v1/projects/{id}/erasures: exactly one of user_id, anonymous_id or
// visitor_id, a non-empty string within the event model's id limit. Each refusal is a 422
// naming the field, in the FastAPI shape of every other route.

import {
  AppError,
  ERASURE_FIELDS,
  type ErasureField,
  eventLimits,
  type FieldIssue,
} from '../core/index.ts';

export interface ErasureBody {
  field: ErasureField;
  value: string;
}

const issue = (loc: (string | number)[], msg: string, type: string): FieldIssue => ({
  loc,
  msg,
  type,
});

export function readErasureBody(body: unknown): ErasureBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw AppError.validation([issue(['body'], 'the body must be a JSON object', 'dict_type')]);
  }
  const fields = body as Record<string, unknown>;
  const named = ERASURE_FIELDS.filter((f) => fields[f] !== undefined && fields[f] !== null);
  const [field] = named;
  if (field === undefined || named.length > 1) {
    const msg = `give exactly one of ${ERASURE_FIELDS.join(', ')}`;
    const loc = named.length > 1 ? ['body', named[1] as string] : ['body', 'user_id'];
    throw AppError.validation([issue(loc, msg, named.length > 1 ? 'extra_forbidden' : 'missing')]);
  }
  const unknown = Object.keys(fields).filter((k) => !ERASURE_FIELDS.includes(k as ErasureField));
  if (unknown.length > 0) {
    const msg = `unknown field ${unknown[0]}; give one of ${ERASURE_FIELDS.join(', ')}`;
    throw AppError.validation([issue(['body', unknown[0] as string], msg, 'extra_forbidden')]);
  }
  const value = fields[field];
  const max = eventLimits.idCharsMax;
  if (typeof value !== 'string') {
    throw AppError.validation([issue(['body', field], `${field} must be a string`, 'string_type')]);
  }
  if (value.length === 0 || value.length > max) {
    const msg = `${field} must be 1–${max} characters`;
    const type = value.length === 0 ? 'string_too_short' : 'string_too_long';
    throw AppError.validation([issue(['body', field], msg, type)]);
  }
  return { field, value };
}
