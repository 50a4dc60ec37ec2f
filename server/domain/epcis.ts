/**
 * Export of stored events as GS1 EPCIS 2.0 JSON-LD (`EPCISDocument`, `EPCISQueryDocument`), valid
 * against GS1's EPCIS 2.0 JSON schema. Our events are already EPCIS-shaped; what EPCIS needs
 * beyond them is URIs where we carry codes, an `eventID` and a `recordTime`. YuTrace-specific
 * details go in the `yt:` namespace so the document stays valid for any EPCIS consumer.
 *
 * The mapping is exact: `epcis-import.ts` reverses it, so importing an export gives back each
 * event byte for byte (same canonical JSON, same event id).
 *
 * - event id (keccak256 of the canonical JSON) → `eventID` `urn:yutrace:event:0x…`; an event with an
 *   `errorDeclaration` takes the eventID of the event it declares in error, as EPCIS 2.0 asks, and
 *   keeps its own id in `yt:eventHash`;
 * - bizStep `transforming` (CBV 2.0 has no such step) → `yt:transforming`; other steps, dispositions,
 *   party types and error reasons → their CBV 2.0 short names;
 * - place id: GLN (13 digits) → `https://id.gs1.org/414/{gln}`; SGLN URN → as it is; no id →
 *   `urn:yutrace:place:{district}:{name}` (percent-encoded); district and name → `yt:district`,
 *   `yt:name` beside `id`;
 * - organisation (统一社会信用代码) → `urn:yutrace:org:{uscc}`;
 * - sensor deviceID (free text) → `urn:yutrace:device:{percent-encoded text}`;
 * - certificationInfo → `urn:yutrace:certificate:{documentHash}`, the rest in `yt:certificate`;
 * - comment → `yt:comment`; errorDeclaration.explanation → `errorDeclaration.yt:explanation`;
 *   correctiveEventIDs → `urn:yutrace:event:0x…`.
 *
 * A few values we accept have no exact EPCIS form: times without seconds, offsets past ±14:00,
 * epcClass URIs that are not RFC 3986 URIs (a bare path, raw characters). They are written in
 * their nearest EPCIS form and the value as recorded is kept in `yt:asRecorded` (path → value).
 */
import { eventHash } from "./canonical";
import { batchUri, parseDigitalLink } from "./digital-link";
import { declaredEvent, type TraceEvent } from "./events";

export const YUTRACE_NAMESPACE = "https://yutrace.cn/epcis/";
export const EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/** The JSON-LD context of every document: EPCIS 2.0 plus our `yt:` prefix. */
export const EPCIS_DOCUMENT_CONTEXT = [
  EPCIS_CONTEXT,
  // yt:asRecorded maps JSON paths to values: a JSON literal, not vocabulary.
  { yt: YUTRACE_NAMESPACE, "yt:asRecorded": { "@type": "@json" } },
];

export const URN = {
  event: "urn:yutrace:event:",
  org: "urn:yutrace:org:",
  place: "urn:yutrace:place:",
  device: "urn:yutrace:device:",
  certificate: "urn:yutrace:certificate:",
} as const;
/** GS1 Digital Link of a GLN (AI 414) on GS1's resolver. */
export const GLN_BASE = "https://id.gs1.org/414/";
/** Where an epcClass goes when the recorded one is not a URI: GS1's canonical Digital Link. */
export const GS1_RESOLVER = "https://id.gs1.org";
/** Business steps YuTrace records that CBV 2.0 does not define: written `yt:{step}`. */
export const NON_CBV_BIZ_STEPS: readonly string[] = ["transforming"];

export interface StoredEvent {
  eventId: string;
  recordTime: string;
  body: unknown;
}

export type EpcisEvent = Record<string, unknown>;

// ---------------------------------------------------------------- values with an EPCIS form

const PCHAR = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})";
const QCHAR = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})";
const HOST = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*";
/** An RFC 3986 URI, a little stricter than JSON Schema's `uri` format (no user info, no IP literals). */
const URI = new RegExp(
  `^[A-Za-z][A-Za-z0-9+.-]*:(?://${HOST}(?::\\d*)?(?:/${PCHAR}*)*|/(?:${PCHAR}+(?:/${PCHAR}*)*)?|${PCHAR}+(?:/${PCHAR}*)*)` +
    `(?:\\?${QCHAR}*)?(?:#${QCHAR}*)?$`,
);

export const isUri = (value: string): boolean => URI.test(value);

/** encodeURIComponent for any string: lone surrogates (valid JSON, no UTF-8) become U+FFFD. */
export const uriComponent = (value: string): string => encodeURIComponent(value.replace(/[\uD800-\uDFFF]/gu, "\uFFFD"));

/**
 * A value kind with an EPCIS form: `write` gives the form, `read` the value back. Where
 * `read(write(v)) !== v`, the export keeps `v` in `yt:asRecorded` and the import checks that
 * `write(recorded)` is what the document says before taking it.
 */
export interface Carrier {
  write(value: string): string;
  read(epcis: string): string;
}

export const CARRIERS = {
  /** RFC 3339 needs seconds: 08:30+08:00 is written 08:30:00+08:00. */
  time: {
    write: (value) => value.replace(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(Z|[+-])/, "$1:00$2"),
    read: (epcis) => epcis,
  },
  /** EPCIS offsets end at ±14:00. */
  offset: {
    write: (value) => (/^[+-]14:(?!00)/.test(value) ? `${value[0]}14:00` : value),
    read: (epcis) => epcis,
  },
  epcClass: {
    write: (value) => {
      if (isUri(value)) return value;
      const key = parseDigitalLink(value);
      return key ? batchUri(GS1_RESOLVER, key) : value;
    },
    read: (epcis) => epcis,
  },
  device: {
    write: (value) => URN.device + uriComponent(value),
    read: (epcis) => (epcis.startsWith(URN.device) ? (safeDecode(epcis.slice(URN.device.length)) ?? epcis) : epcis),
  },
} satisfies Record<string, Carrier>;

export type CarrierKind = keyof typeof CARRIERS;

export function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

export type Place = NonNullable<TraceEvent["bizLocation"]>;

/** The EPCIS id of a place: a GLN's Digital Link, an SGLN URN, or a YuTrace place URN. */
export function placeId(place: Place): string {
  if (place.id) return /^\d{13}$/.test(place.id) ? GLN_BASE + place.id : place.id;
  return URN.place + [place.district ?? "", place.name ?? ""].map(uriComponent).join(":");
}

export const bizStepUri = (step: string): string => (NON_CBV_BIZ_STEPS.includes(step) ? `yt:${step}` : step);

// ---------------------------------------------------------------- export

/** One stored event as an EPCIS 2.0 event. */
export function toEpcisEvent(stored: StoredEvent): EpcisEvent {
  const event = stored.body as TraceEvent;
  const asRecorded: Record<string, string> = {};
  const carry = (kind: CarrierKind, path: string, value: string): string => {
    const carrier: Carrier = CARRIERS[kind];
    const written = carrier.write(value);
    if (carrier.read(written) !== value) asRecorded[path] = value;
    return written;
  };
  const quantities = (name: string, list: { epcClass: string; quantity: number; uom: string }[]) =>
    list.map((q, i) => ({ ...q, epcClass: carry("epcClass", `${name}.${i}.epcClass`, q.epcClass) }));

  const original = declaredEvent(event);
  const out: EpcisEvent = {
    type: event.type,
    eventTime: carry("time", "eventTime", event.eventTime),
    eventTimeZoneOffset: carry("offset", "eventTimeZoneOffset", event.eventTimeZoneOffset),
    // An error declaration carries the eventID of the event it declares in error, as EPCIS 2.0 asks.
    eventID: URN.event + (original ? eventHash(original) : stored.eventId),
    recordTime: stored.recordTime,
  };
  if (event.errorDeclaration) {
    const { declarationTime, reason, correctiveEventIDs, explanation } = event.errorDeclaration;
    out.errorDeclaration = {
      declarationTime: carry("time", "errorDeclaration.declarationTime", declarationTime),
      reason,
      ...(correctiveEventIDs ? { correctiveEventIDs: correctiveEventIDs.map((id) => URN.event + id) } : {}),
      ...(explanation !== undefined ? { "yt:explanation": explanation } : {}),
    };
  }
  if (event.type === "ObjectEvent") {
    out.action = event.action;
    out.quantityList = quantities("quantityList", event.quantityList);
  } else {
    out.inputQuantityList = quantities("inputQuantityList", event.inputQuantityList);
    out.outputQuantityList = quantities("outputQuantityList", event.outputQuantityList);
  }
  out.bizStep = bizStepUri(event.bizStep);
  if (event.disposition) out.disposition = event.disposition;
  if (event.readPoint) out.readPoint = location(event.readPoint);
  if (event.bizLocation) out.bizLocation = location(event.bizLocation);
  if (event.sourceList) out.sourceList = event.sourceList.map((s) => ({ type: s.type, source: URN.org + s.source }));
  if (event.destinationList) {
    out.destinationList = event.destinationList.map((d) => ({ type: d.type, destination: URN.org + d.destination }));
  }
  if (event.sensorElementList) {
    out.sensorElementList = event.sensorElementList.map((element, i) => {
      const at = `sensorElementList.${i}`;
      const metadata = element.sensorMetadata;
      return {
        ...(metadata
          ? {
              sensorMetadata: {
                ...(metadata.time !== undefined
                  ? { time: carry("time", `${at}.sensorMetadata.time`, metadata.time) }
                  : {}),
                ...(metadata.deviceID !== undefined
                  ? { deviceID: carry("device", `${at}.sensorMetadata.deviceID`, metadata.deviceID) }
                  : {}),
              },
            }
          : {}),
        sensorReport: element.sensorReport.map((report, j) => ({
          ...report,
          ...(report.time !== undefined ? { time: carry("time", `${at}.sensorReport.${j}.time`, report.time) } : {}),
        })),
      };
    });
  }
  if (event.certificationInfo) {
    const { documentHash, issuer, standard, result, certificateNumber } = event.certificationInfo;
    out.certificationInfo = URN.certificate + documentHash;
    out["yt:certificate"] = {
      "yt:issuer": issuer,
      "yt:standard": standard,
      ...(result !== undefined ? { "yt:result": result } : {}),
      ...(certificateNumber !== undefined ? { "yt:certificateNumber": certificateNumber } : {}),
    };
  }
  if (event.comment !== undefined) out["yt:comment"] = event.comment;
  if (original) out["yt:eventHash"] = stored.eventId;
  if (Object.keys(asRecorded).length > 0) out["yt:asRecorded"] = asRecorded;
  return out;
}

function location(place: Place): Record<string, unknown> {
  return {
    id: placeId(place),
    ...(place.district !== undefined ? { "yt:district": place.district } : {}),
    ...(place.name !== undefined ? { "yt:name": place.name } : {}),
  };
}

/** An EPCIS 2.0 document of `events`, in the order given. */
export function epcisDocument(events: StoredEvent[], creationDate = new Date()): Record<string, unknown> {
  return {
    "@context": EPCIS_DOCUMENT_CONTEXT,
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate: creationDate.toISOString(),
    epcisBody: { eventList: events.map(toEpcisEvent) },
  };
}

/**
 * The answer to an EPCIS query: an `EPCISQueryDocument` of `events`. `nextCursor` (in `yt:nextCursor`)
 * asks for the next page, null on the last.
 */
export function epcisQueryDocument(
  events: StoredEvent[],
  nextCursor: string | null,
  creationDate = new Date(),
): Record<string, unknown> {
  return {
    "@context": EPCIS_DOCUMENT_CONTEXT,
    type: "EPCISQueryDocument",
    schemaVersion: "2.0",
    creationDate: creationDate.toISOString(),
    epcisBody: {
      queryResults: { queryName: "SimpleEventQuery", resultsBody: { eventList: events.map(toEpcisEvent) } },
    },
    "yt:nextCursor": nextCursor,
  };
}
