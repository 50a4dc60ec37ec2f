/**
 * Import of EPCIS 2.0 documents (the capture interface): each ObjectEvent and TransformationEvent
 * with `epcClass` quantity lists becomes one of our events, by exactly reversing `epcis.ts`, so
 * that importing an export gives back each event unchanged. Well-known EPCIS spellings of the
 * same things are read too (CBV 2.0 vocabulary URIs, EPCIS 1.x `urn:epcglobal:cbv:` URNs, LGTIN
 * class URNs). Whatever has no place in our events — epcList, AggregationEvents, bizTransactions,
 * ilmd, other extensions — is a problem of that event naming its index and JSON path, never
 * silently dropped.
 */
import { eventHash } from "./canonical";
import { batchUri } from "./digital-link";
import {
  CARRIERS,
  GLN_BASE,
  GS1_RESOLVER,
  NON_CBV_BIZ_STEPS,
  URN,
  YUTRACE_NAMESPACE,
  placeId,
  safeDecode,
  type Carrier,
  type CarrierKind,
  type Place,
} from "./epcis";
import { declaredEvent, traceEventSchema, type TraceEvent } from "./events";
import { gtin14, isValidLot } from "./identifiers";

export interface ImportProblem {
  /** Index of the event in `epcisBody.eventList`. */
  index: number;
  /** JSON path in the EPCIS document, e.g. `epcisBody.eventList.3.quantityList.0.epcClass`. */
  path: string;
  code: string;
  message: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------- the document

const DOCUMENT_KEYS = new Set([
  "@context",
  "id",
  "type",
  "schemaVersion",
  "creationDate",
  "instanceIdentifier",
  "sender",
  "receiver",
  "epcisHeader",
  "epcisBody",
]);

/** The event list of an EPCISDocument, or what is wrong with the document as a whole. */
export function epcisEventList(
  document: unknown,
): { eventList: unknown[] } | { problems: { path: string; message: string }[] } {
  const problems: { path: string; message: string }[] = [];
  if (!isObject(document)) return { problems: [{ path: "", message: "must be an EPCISDocument (a JSON object)" }] };
  if (document.type !== "EPCISDocument") {
    problems.push({ path: "type", message: 'must be "EPCISDocument": capture takes EPCIS 2.0 documents' });
  }
  if (typeof document.schemaVersion !== "string" || !/^2(\.\d+)*$/.test(document.schemaVersion)) {
    problems.push({ path: "schemaVersion", message: 'must be "2.0": EPCIS 2.0 JSON/JSON-LD' });
  }
  for (const key of Object.keys(document)) {
    if (!DOCUMENT_KEYS.has(key)) problems.push({ path: key, message: "is not a field YuTrace can keep" });
  }
  const header = document.epcisHeader;
  if (header !== undefined && (!isObject(header) || Object.keys(header).length > 0)) {
    problems.push({ path: "epcisHeader", message: "master data is not imported; send the events without it" });
  }
  const body = document.epcisBody;
  const eventList = isObject(body) ? body.eventList : undefined;
  if (!Array.isArray(eventList)) {
    problems.push({ path: "epcisBody.eventList", message: "must be the list of events" });
  } else if (eventList.length === 0) {
    problems.push({ path: "epcisBody.eventList", message: "holds no event; capture needs at least one" });
  }
  if (isObject(body)) {
    for (const key of Object.keys(body)) {
      if (key !== "eventList") problems.push({ path: `epcisBody.${key}`, message: "is not a field YuTrace can keep" });
    }
  }
  return problems.length > 0 ? { problems } : { eventList: eventList as unknown[] };
}

/** Our events for `eventList`, in order, or every problem of every event. */
export function fromEpcisEvents(eventList: unknown[]): { events: TraceEvent[]; problems: ImportProblem[] } {
  const events: TraceEvent[] = [];
  const problems: ImportProblem[] = [];
  eventList.forEach((item, index) => {
    const result = fromEpcisEvent(item, index);
    if (result.event) events.push(result.event);
    problems.push(...result.problems);
  });
  return problems.length > 0 ? { events: [], problems } : { events, problems };
}

// ---------------------------------------------------------------- one event

/** Vocabulary URIs that name the same thing as a CBV 2.0 short name. */
const CBV_PREFIXES = {
  bizStep: ["https://ref.gs1.org/cbv/BizStep-", "cbv:BizStep-", "urn:epcglobal:cbv:bizstep:"],
  disposition: ["https://ref.gs1.org/cbv/Disp-", "cbv:Disp-", "urn:epcglobal:cbv:disp:"],
  partyType: ["https://ref.gs1.org/cbv/SDT-", "cbv:SDT-", "urn:epcglobal:cbv:sdt:"],
  errorReason: ["https://ref.gs1.org/cbv/ER-", "cbv:ER-", "urn:epcglobal:cbv:er:"],
  measurement: ["gs1:", "https://gs1.org/voc/", "https://ref.gs1.org/voc/"],
};

/** The short name of a vocabulary value; what is not a string is passed on for the schema to refuse. */
function shortName(value: unknown, prefixes: string[]): unknown {
  if (typeof value !== "string") return value;
  const prefix = prefixes.find((p) => value.startsWith(p));
  return prefix ? value.slice(prefix.length) : value;
}

/** A bizStep as we record it: CBV short names and URIs, and our own steps in yt:. */
export function bizStepOf(value: unknown): unknown {
  if (typeof value === "string") {
    for (const prefix of ["yt:", YUTRACE_NAMESPACE]) {
      const step = value.startsWith(prefix) ? value.slice(prefix.length) : null;
      if (step !== null && NON_CBV_BIZ_STEPS.includes(step)) return step;
    }
  }
  return shortName(value, CBV_PREFIXES.bizStep);
}

/** Fields EPCIS defines that our events have no place for, and why. */
const UNSUPPORTED: Record<string, string> = {
  epcList: "YuTrace records batches, not serialised items: name each batch in quantityList by its epcClass",
  inputEPCList: "YuTrace records batches, not serialised items: use inputQuantityList",
  outputEPCList: "YuTrace records batches, not serialised items: use outputQuantityList",
  parentID: "aggregation is not recorded by YuTrace",
  childEPCs: "aggregation is not recorded by YuTrace",
  childQuantityList: "aggregation is not recorded by YuTrace",
  transformationID: "YuTrace needs the inputs and outputs in one TransformationEvent",
  bizTransactionList: "business transactions are not recorded by YuTrace",
  persistentDisposition: "YuTrace records a disposition per event only",
  ilmd: "instance/lot master data is registered with the batch (POST /api/v1/batches), not in events",
};

const COMMON_KEYS = [
  "@context",
  "type",
  "eventID",
  "recordTime",
  "eventTime",
  "eventTimeZoneOffset",
  "errorDeclaration",
  "bizStep",
  "disposition",
  "readPoint",
  "bizLocation",
  "sourceList",
  "destinationList",
  "sensorElementList",
  "certificationInfo",
  "yt:certificate",
  "yt:comment",
  "yt:eventHash",
  "yt:asRecorded",
];
const KEYS = {
  ObjectEvent: new Set([...COMMON_KEYS, "action", "quantityList"]),
  TransformationEvent: new Set([...COMMON_KEYS, "inputQuantityList", "outputQuantityList"]),
};

/** Our event for one EPCIS event (index `index` of the event list), or its problems. */
export function fromEpcisEvent(epcis: unknown, index = 0): { event: TraceEvent | null; problems: ImportProblem[] } {
  return new EventReader(index).read(epcis);
}

class EventReader {
  readonly problems: ImportProblem[] = [];
  private asRecorded: Record<string, string> = {};
  private readonly used = new Set<string>();

  constructor(private readonly index: number) {}

  private problem(path: string, code: string, message: string): void {
    this.problems.push({
      index: this.index,
      path: `epcisBody.eventList.${this.index}${path ? `.${path}` : ""}`,
      code,
      message,
    });
  }

  /** Keys of `object` (at `path`) outside `allowed` are problems. */
  private onlyKeys(object: Json, allowed: Iterable<string>, path: string): void {
    const known = new Set(allowed);
    for (const key of Object.keys(object)) {
      if (known.has(key)) continue;
      const at = path ? `${path}.${key}` : key;
      if (UNSUPPORTED[key]) this.problem(at, "unsupported_field", `${key} is not supported: ${UNSUPPORTED[key]}`);
      else this.problem(at, "unknown_field", `${key} has no place in a YuTrace event`);
    }
  }

  /** The value at `path`: the one in yt:asRecorded when there is one and it has this EPCIS form. */
  private carried(kind: CarrierKind, path: string, value: unknown): unknown {
    if (typeof value !== "string") return value;
    const carrier: Carrier = CARRIERS[kind];
    const recorded = this.asRecorded[path];
    if (recorded === undefined) return carrier.read(value);
    this.used.add(path);
    if (carrier.write(recorded) !== value) {
      this.problem("yt:asRecorded", "as_recorded_mismatch", `yt:asRecorded gives ${path} a value that is not ${value}`);
    }
    return recorded;
  }

  read(epcis: unknown): { event: TraceEvent | null; problems: ImportProblem[] } {
    if (!isObject(epcis)) {
      this.problem("", "invalid_event", "must be an EPCIS event (a JSON object)");
      return { event: null, problems: this.problems };
    }
    const type = epcis.type;
    if (type !== "ObjectEvent" && type !== "TransformationEvent") {
      this.problem(
        "type",
        "unsupported_event_type",
        `${typeof type === "string" ? type : "this event type"} is not supported: YuTrace records ObjectEvents and ` +
          "TransformationEvents of batches (quantity lists of epcClass)",
      );
      return { event: null, problems: this.problems };
    }
    this.readAsRecorded(epcis["yt:asRecorded"]);
    const allowed = new Set(KEYS[type]);
    // An empty EPC list says nothing: let it pass.
    for (const key of ["epcList", "inputEPCList", "outputEPCList"]) {
      if (Array.isArray(epcis[key]) && (epcis[key] as unknown[]).length === 0) allowed.add(key);
    }
    this.onlyKeys(epcis, allowed, "");

    const event: Json = { type };
    if (type === "ObjectEvent") {
      this.set(event, "action", epcis.action);
      this.set(event, "quantityList", this.quantities(epcis.quantityList, "quantityList"));
    } else {
      this.set(event, "inputQuantityList", this.quantities(epcis.inputQuantityList, "inputQuantityList"));
      this.set(event, "outputQuantityList", this.quantities(epcis.outputQuantityList, "outputQuantityList"));
    }
    this.set(event, "eventTime", this.carried("time", "eventTime", epcis.eventTime));
    this.set(event, "eventTimeZoneOffset", this.carried("offset", "eventTimeZoneOffset", epcis.eventTimeZoneOffset));
    this.set(event, "bizStep", bizStepOf(epcis.bizStep));
    this.set(event, "disposition", shortName(epcis.disposition, CBV_PREFIXES.disposition));
    this.set(event, "readPoint", this.place(epcis.readPoint, "readPoint"));
    this.set(event, "bizLocation", this.place(epcis.bizLocation, "bizLocation"));
    this.set(event, "sourceList", this.parties(epcis.sourceList, "sourceList", "source"));
    this.set(event, "destinationList", this.parties(epcis.destinationList, "destinationList", "destination"));
    this.set(event, "sensorElementList", this.sensors(epcis.sensorElementList));
    this.set(event, "certificationInfo", this.certificate(epcis.certificationInfo, epcis["yt:certificate"]));
    this.set(event, "comment", epcis["yt:comment"]);
    this.set(event, "errorDeclaration", this.errorDeclaration(epcis.errorDeclaration));
    for (const path of Object.keys(this.asRecorded)) {
      if (!this.used.has(path)) {
        this.problem(`yt:asRecorded.${path}`, "as_recorded_mismatch", `${path} has no value in this event to replace`);
      }
    }
    if (this.problems.length > 0) return { event: null, problems: this.problems };

    const parsed = traceEventSchema.safeParse(event);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        this.problem(epcisPath(issue.path.map(String)), "invalid_event", issue.message);
      return { event: null, problems: this.problems };
    }
    this.checkIds(epcis, event as TraceEvent);
    return this.problems.length > 0
      ? { event: null, problems: this.problems }
      : { event: event as TraceEvent, problems: [] };
  }

  /** Sets `key` unless `value` is undefined: our events hold no undefined members. */
  private set(event: Json, key: string, value: unknown): void {
    if (value !== undefined) event[key] = value;
  }

  private readAsRecorded(value: unknown): void {
    if (value === undefined) return;
    if (!isObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
      this.problem("yt:asRecorded", "invalid_event", "must map JSON paths to the values as recorded (strings)");
      return;
    }
    this.asRecorded = value as Record<string, string>;
  }

  /** The eventID and yt:eventHash, when they are YuTrace's, must be the ids of what was read. */
  private checkIds(epcis: Json, event: TraceEvent): void {
    const own = eventHash(event);
    const original = declaredEvent(event);
    const expected = original ? eventHash(original) : own;
    const eventID = epcis.eventID;
    if (typeof eventID === "string" && eventID.startsWith(URN.event) && eventID !== URN.event + expected) {
      this.problem(
        "eventID",
        "event_id_mismatch",
        original
          ? `an error declaration carries the eventID of the event it declares in error, ${URN.event}${expected}`
          : `the event's content has the id ${expected}, not the one in eventID: it was changed after export`,
      );
    }
    const hash = epcis["yt:eventHash"];
    if (hash !== undefined && hash !== own) {
      this.problem("yt:eventHash", "event_id_mismatch", `the event's content has the id ${own}, not ${String(hash)}`);
    }
  }

  private quantities(list: unknown, path: string): unknown {
    if (!Array.isArray(list)) return list;
    return list.map((element, i) => {
      if (!isObject(element)) return element;
      this.onlyKeys(element, ["epcClass", "quantity", "uom"], `${path}.${i}`);
      const epcClass = this.carried("epcClass", `${path}.${i}.epcClass`, element.epcClass);
      const out: Json = {};
      this.set(out, "epcClass", typeof epcClass === "string" ? (lgtinToDigitalLink(epcClass) ?? epcClass) : epcClass);
      this.set(out, "quantity", element.quantity);
      this.set(out, "uom", element.uom);
      return out;
    });
  }

  private place(value: unknown, path: string): unknown {
    if (!isObject(value)) return value;
    this.onlyKeys(value, ["id", "yt:district", "yt:name"], path);
    const { id, "yt:district": district, "yt:name": name } = value;
    if (typeof id !== "string") {
      this.problem(`${path}.id`, "invalid_event", "must be the place's URI");
      return undefined;
    }
    const out: Json = {};
    const gln = /^https?:\/\/[^/?#]+\/414\/(\d{13})$/.exec(id)?.[1];
    if (gln) out.id = gln;
    else if (id.startsWith("urn:epc:id:sgln:")) out.id = id;
    else if (id.startsWith(URN.place)) {
      // No id of its own: the place is its district and name, kept exactly in yt:district and yt:name.
      const parts = id.slice(URN.place.length).split(":").map(safeDecode);
      const [districtInId, nameInId] = parts.length === 2 ? parts : [null, null];
      const place = { district: district ?? (districtInId || undefined), name: name ?? (nameInId || undefined) };
      const texts = [place.district, place.name].every((v) => v === undefined || typeof v === "string");
      if (texts && placeId(place as Place) !== id) {
        this.problem(`${path}.id`, "place_mismatch", `${id} does not name the place of yt:district and yt:name`);
      }
      this.set(out, "district", place.district);
      this.set(out, "name", place.name);
      return out;
    } else {
      this.problem(
        `${path}.id`,
        "unsupported_place",
        `must be a GLN as ${GLN_BASE}{gln}, an SGLN URN (urn:epc:id:sgln:…) or ${URN.place}{district}:{name}`,
      );
      return undefined;
    }
    this.set(out, "district", district);
    this.set(out, "name", name);
    return out;
  }

  private parties(list: unknown, path: string, role: "source" | "destination"): unknown {
    if (!Array.isArray(list)) return list;
    return list.map((party, i) => {
      if (!isObject(party)) return party;
      this.onlyKeys(party, ["type", role], `${path}.${i}`);
      const uri = party[role];
      let code: unknown = uri;
      if (typeof uri === "string") {
        if (uri.startsWith(URN.org)) code = uri.slice(URN.org.length);
        else this.problem(`${path}.${i}.${role}`, "unsupported_party", `must be ${URN.org}{统一社会信用代码}`);
      }
      const out: Json = { type: shortName(party.type, CBV_PREFIXES.partyType) };
      this.set(out, role, code);
      return out;
    });
  }

  private sensors(list: unknown): unknown {
    if (!Array.isArray(list)) return list;
    return list.map((element, i) => {
      if (!isObject(element)) return element;
      const at = `sensorElementList.${i}`;
      this.onlyKeys(element, ["sensorMetadata", "sensorReport"], at);
      const out: Json = {};
      const metadata = element.sensorMetadata;
      if (isObject(metadata)) {
        this.onlyKeys(metadata, ["time", "deviceID"], `${at}.sensorMetadata`);
        const m: Json = {};
        this.set(m, "time", this.carried("time", `${at}.sensorMetadata.time`, metadata.time));
        this.set(m, "deviceID", this.carried("device", `${at}.sensorMetadata.deviceID`, metadata.deviceID));
        out.sensorMetadata = m;
      } else this.set(out, "sensorMetadata", metadata);
      const reports = element.sensorReport;
      this.set(
        out,
        "sensorReport",
        !Array.isArray(reports)
          ? reports
          : reports.map((report, j) => {
              if (!isObject(report)) return report;
              this.onlyKeys(report, ["type", "value", "uom", "time"], `${at}.sensorReport.${j}`);
              const r: Json = { type: shortName(report.type, CBV_PREFIXES.measurement) };
              this.set(r, "value", report.value);
              this.set(r, "uom", report.uom);
              this.set(r, "time", this.carried("time", `${at}.sensorReport.${j}.time`, report.time));
              return r;
            }),
      );
      return out;
    });
  }

  private certificate(info: unknown, details: unknown): unknown {
    if (info === undefined) {
      if (details !== undefined) this.problem("yt:certificate", "invalid_event", "comes only with certificationInfo");
      return undefined;
    }
    const uri = Array.isArray(info) && info.length === 1 ? info[0] : info;
    if (typeof uri !== "string" || !uri.startsWith(URN.certificate)) {
      this.problem(
        "certificationInfo",
        "unsupported_certificate",
        `must be one ${URN.certificate}{SHA-256 of the certificate document}, with yt:certificate`,
      );
      return undefined;
    }
    const out: Json = { documentHash: uri.slice(URN.certificate.length) };
    if (isObject(details)) {
      const fields = ["issuer", "standard", "result", "certificateNumber"];
      this.onlyKeys(
        details,
        fields.map((f) => `yt:${f}`),
        "yt:certificate",
      );
      for (const field of fields) this.set(out, field, details[`yt:${field}`]);
    } else if (details !== undefined) {
      this.problem("yt:certificate", "invalid_event", "must be an object: yt:issuer, yt:standard, yt:result…");
    }
    return out;
  }

  private errorDeclaration(value: unknown): unknown {
    if (!isObject(value)) return value;
    this.onlyKeys(value, ["declarationTime", "reason", "correctiveEventIDs", "yt:explanation"], "errorDeclaration");
    const out: Json = {};
    this.set(out, "declarationTime", this.carried("time", "errorDeclaration.declarationTime", value.declarationTime));
    this.set(out, "reason", shortName(value.reason, CBV_PREFIXES.errorReason));
    const corrective = value.correctiveEventIDs;
    this.set(
      out,
      "correctiveEventIDs",
      !Array.isArray(corrective)
        ? corrective
        : corrective.map((id, i) => {
            if (typeof id === "string" && id.startsWith(URN.event)) return id.slice(URN.event.length);
            this.problem(
              `errorDeclaration.correctiveEventIDs.${i}`,
              "unsupported_event_id",
              `must be ${URN.event}{event id}: the corrective events must be recorded in YuTrace`,
            );
            return id;
          }),
    );
    this.set(out, "explanation", value["yt:explanation"]);
    return out;
  }
}

/** A batch's EPC class URN (urn:epc:class:lgtin:{company prefix}.{indicator, item}.{lot}) as a Digital Link. */
export function lgtinToDigitalLink(uri: string): string | null {
  const match = /^urn:epc:class:lgtin:(\d+)\.(\d+)\.(.+)$/.exec(uri);
  if (!match || match[1]!.length + match[2]!.length !== 13) return null;
  const lot = safeDecode(match[3]!);
  if (lot === null || !isValidLot(lot)) return null;
  return batchUri(GS1_RESOLVER, { gtin: gtin14(match[2]![0] + match[1] + match[2]!.slice(1)), lot });
}

/** Where a field of our event sits in its EPCIS form. */
export function epcisPath(path: (string | number)[]): string {
  const [head, next] = path;
  const rest = path.slice(2).join(".");
  const join = (...parts: (string | number)[]) => parts.filter((p) => p !== "").join(".");
  if (head === "comment") return "yt:comment";
  if (head === "certificationInfo" && next !== undefined && next !== "documentHash") {
    return join("yt:certificate", `yt:${String(next)}`, rest);
  }
  if (head === "certificationInfo") return "certificationInfo";
  if ((head === "readPoint" || head === "bizLocation") && (next === "district" || next === "name")) {
    return `${head}.yt:${next}`;
  }
  if (head === "errorDeclaration" && next === "explanation") return "errorDeclaration.yt:explanation";
  return path.join(".");
}
