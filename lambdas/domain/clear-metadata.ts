/**
 * Identifiers stay out of clear metadata (issue 11, R-DSR-2, R-TERM-4). An event's body is envelope-encrypted under
 * the tenant key, so erasure deletes it and shredding makes every copy unreadable; its metadata in clear (an API
 * call's route, event, metric and webhook names, and the rollup series built from them) outlives both: rollups are
 * shared by every subject of a minute and kept for the tenant's retention. So nothing identifier-shaped reaches
 * clear metadata at all: routes are templated segment by segment (`/users/ann@example.com/orders/1234` →
 * `/users/:email/orders/:id`, query strings dropped), names have identifier-shaped substrings replaced. The body
 * keeps the route as sent (exports show it; erasure removes it).
 *
 * What counts as identifier-shaped, per route segment (percent-decoded first):
 * - an e-mail (anything with `@`) → `:email`; a phone number (`+` and 7 or more digits) → `:phone`;
 * - digits only, a UUID, a hex string of 8 or more with a digit (object ids, hashes), a prefixed id
 *   (`cus_RzQ8…`, `usr-123…`), or a token of 16 or more characters mixing letters and digits (ULIDs, base64) → `:id`.
 * A bare word (`/users/monalisa`) cannot be told from a path word by its shape: senders that put names in routes
 * send the route template (`/users/:login`), as most API frameworks report it.
 */
import { utf8Bytes } from './aws-limits';
import { KEY_BYTE_BOUNDS } from './keys';
import { BoundedCache } from './memo';
import type { EventKind } from './model';

const EMAIL_IN_TEXT = /[^\s@/:]+@[^\s@/:]+/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const DIGITS = /^\d+$/;
const LONG_DIGITS_IN_TEXT = /\+?\d{6,}/g;
const PHONE = /^\+[\d\s().-]{7,}$/;
const HEX = /^(?=.*\d)[0-9a-f]{8,}$/i;
const PREFIXED_ID = /^[a-z]{1,12}[_-](?=[A-Za-z0-9]*\d)[A-Za-z0-9]{6,}$/i;
const TOKEN = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_~.+=-]{16,}$/;
/** A placeholder a sender already wrote (`:id`, `{id}`, `<id>`), kept as it is. */
const PLACEHOLDER = /^(:[A-Za-z_]\w*|\{[^/]*\}|<[^/]*>)$/;

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The placeholder for one route segment, or the segment itself when it is not identifier-shaped. */
export function templateSegment(segment: string): string {
  if (segment === '' || PLACEHOLDER.test(segment)) return segment;
  const text = decoded(segment);
  if (text.includes('@')) return ':email';
  if (PHONE.test(text) && (text.match(/\d/g)?.length ?? 0) >= 7) return ':phone';
  if (DIGITS.test(text) || UUID.test(text) || HEX.test(text) || PREFIXED_ID.test(text) || TOKEN.test(text)) return ':id';
  return segment;
}

/**
 * Templating can lengthen a value (`/1` → `/:id`): it is cut back, at a code point, to at most `maxBytes` of UTF-8
 * or the original's length, whichever is more (ingest refuses an original over the bound; templating adds nothing).
 */
function withinBytes(text: string, original: string, bound: number): string {
  const maxBytes = Math.max(bound, utf8Bytes(original));
  if (utf8Bytes(text) <= maxBytes) return text;
  let cut = '';
  for (const char of text) {
    if (utf8Bytes(cut + char) > maxBytes) break;
    cut += char;
  }
  return cut;
}

/** The route as it may be kept in clear: query string, fragment and matrix parameters dropped, segments templated. */
export function templateRoute(route: string, maxBytes = Number.POSITIVE_INFINITY): string {
  const path = route.split(/[?#;]/, 1)[0];
  return withinBytes(path.split('/').map(templateSegment).join('/'), route, maxBytes);
}

/** A free-text name (event, metric, webhook type) as it may be kept in clear: e-mails, UUIDs and long numbers replaced. */
export function templateName(name: string, maxBytes = Number.POSITIVE_INFINITY): string {
  const replaced = name.replace(EMAIL_IN_TEXT, ':email').replace(UUID_IN_TEXT, ':id').replace(LONG_DIGITS_IN_TEXT, ':id');
  return withinBytes(replaced, name, maxBytes);
}

/**
 * Issue 12: routes and names recur from event to event, and the processor asks three times per event (name, index
 * attribute, rollup series): each is templated once per container (at most 10,000 of each kind are kept).
 */
const CLEAR_TEXTS_KEPT = 10_000;
const clearRoutes = new BoundedCache<string>(CLEAR_TEXTS_KEPT);
const clearNames = { webhook: new BoundedCache<string>(CLEAR_TEXTS_KEPT), other: new BoundedCache<string>(CLEAR_TEXTS_KEPT) };

/** An API call's route as every clear copy holds it (its name, index attribute and rollup series), within its key bound. */
export const clearRoute = (route: string): string => clearRoutes.get(route) ?? clearRoutes.set(route, templateRoute(route, KEY_BYTE_BOUNDS.route));

/** An event's name as every clear copy holds it, within the key bound of its kind. */
export function clearName(kind: EventKind, name: string): string {
  const cache = kind === 'webhook' ? clearNames.webhook : clearNames.other;
  return cache.get(name) ?? cache.set(name, templateName(name, kind === 'webhook' ? KEY_BYTE_BOUNDS.webhookName : KEY_BYTE_BOUNDS.eventName));
}

/** A name a query asks for, as stored: `GET /users/ann@example.com` finds the calls stored as `GET /users/:email`. */
export function clearQueryName(kind: EventKind, name: string): string {
  const call = kind === 'api_call' ? /^(\S+) (.*)$/s.exec(name) : null;
  return call ? `${call[1]} ${clearRoute(call[2])}` : clearName(kind, name);
}

/**
 * A rollup series a query asks for, as stored (rollups.ts `seriesOf`): `event:order-1234567` finds the series stored
 * as `event:order-:id`, `api:GET /users/42` the one stored as `api:GET /users/:id`. Webhook series (by source id) and
 * anything else are as asked.
 */
export function clearQuerySeries(series: string): string {
  const at = series.indexOf(':');
  const [prefix, rest] = [series.slice(0, at), series.slice(at + 1)];
  if (prefix === 'api') return `api:${clearQueryName('api_call', rest)}`;
  if (prefix === 'event' || prefix === 'metric') return `${prefix}:${clearName(prefix, rest)}`;
  return series;
}
