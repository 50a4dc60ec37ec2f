/**
 * Export of stored events as a GS1 EPCIS 2.0 JSON-LD document. Our events are already EPCIS-shaped;
 * what EPCIS needs beyond them is URIs where we carry codes (organisations by 统一社会信用代码,
 * places by district), an `eventID` and a `recordTime`. YuTrace-specific details go in the `yt:`
 * namespace so the document stays valid for any EPCIS consumer.
 */
import type { TraceEvent } from "./events";

export const YUTRACE_NAMESPACE = "https://yutrace.cn/epcis/";
const EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld";

export interface StoredEvent {
  eventId: string;
  recordTime: string;
  body: unknown;
}

const orgUri = (uscc: string) => `urn:yutrace:org:${uscc}`;

function location(place: TraceEvent["bizLocation"]): Record<string, unknown> | undefined {
  if (!place) return undefined;
  const id = place.id
    ? place.id.startsWith("urn:")
      ? place.id
      : `urn:epc:id:sgln:${place.id.slice(0, 7)}.${place.id.slice(7, 12)}.0`
    : `urn:yutrace:place:${encodeURIComponent([place.district, place.name].filter(Boolean).join("/"))}`;
  return {
    id,
    ...(place.district ? { "yt:district": place.district } : {}),
    ...(place.name ? { "yt:name": place.name } : {}),
  };
}

/** One stored event as an EPCIS 2.0 event. */
export function toEpcisEvent(stored: StoredEvent): Record<string, unknown> {
  const event = stored.body as TraceEvent;
  const {
    bizLocation,
    readPoint,
    sourceList,
    destinationList,
    sensorElementList,
    certificationInfo,
    comment,
    ...rest
  } = event;
  return {
    ...rest,
    eventID: `urn:yutrace:event:${stored.eventId}`,
    recordTime: stored.recordTime,
    ...(readPoint ? { readPoint: location(readPoint) } : {}),
    ...(bizLocation ? { bizLocation: location(bizLocation) } : {}),
    ...(sourceList ? { sourceList: sourceList.map((s) => ({ type: s.type, source: orgUri(s.source) })) } : {}),
    ...(destinationList
      ? { destinationList: destinationList.map((d) => ({ type: d.type, destination: orgUri(d.destination) })) }
      : {}),
    ...(sensorElementList
      ? {
          sensorElementList: sensorElementList.map((element) => ({
            ...element,
            sensorReport: element.sensorReport.map((r) => ({ ...r, type: `gs1:${r.type}` })),
          })),
        }
      : {}),
    ...(certificationInfo
      ? {
          certificationInfo: `urn:yutrace:certificate:${certificationInfo.documentHash}`,
          "yt:certificate": certificationInfo,
        }
      : {}),
    ...(comment ? { "yt:comment": comment } : {}),
  };
}

/** An EPCIS 2.0 document of `events`, in the order given. */
export function epcisDocument(events: StoredEvent[], creationDate = new Date()): Record<string, unknown> {
  return {
    "@context": [EPCIS_CONTEXT, { yt: YUTRACE_NAMESPACE }],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate: creationDate.toISOString(),
    epcisBody: { eventList: events.map(toEpcisEvent) },
  };
}
