/**
 * R-TERM-1: the stream drain's marker, an event the termination puts into the stream after the freeze (partition
 * key: the tenant, so behind every record of the tenant accepted before it). Once the processor has stored it, it
 * has passed every one of them. It is nobody's data: the export, the certificate's counts and the usage marks
 * (R-BILL-2) leave it out. Its id prefix `td_` is one ingest never assigns (`ev_`, `ik_`, `c_`), so a tenant cannot
 * send an event that passes for one.
 */
import type { StoredEvent } from './model';

export const DRAIN_MARKER_EVENT = 'lumiqo.termination.drain';
const DRAIN_MARKER_PREFIX = 'td_';
export const drainMarkerId = (terminationId: string): string => `${DRAIN_MARKER_PREFIX}${terminationId.slice(terminationId.indexOf('_') + 1)}`;
export const isDrainMarker = (stored: Pick<StoredEvent, 'eventId' | 'name'>): boolean =>
  stored.eventId.startsWith(DRAIN_MARKER_PREFIX) && stored.name === DRAIN_MARKER_EVENT;
