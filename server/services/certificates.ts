/**
 * Inspection certificates (检验报告): the documents an `inspecting` event names by SHA-256 in
 * `certificationInfo.documentHash`. A document is stored under its own hash, so a hash names exactly
 * one document, and is hashed again every time it is served: bytes changed in the store are refused
 * (409 `certificate_corrupted`), never shown as the certificate.
 */
import { createHash } from "node:crypto";

import { HttpError } from "../http/errors";
import { keys } from "../store/keys";
import type { CertificateInfo } from "../store/records";
import type { Operation, Store } from "../store/store";
import { Mutex } from "../util/mutex";

/** The document types a certificate may have. */
export const CERTIFICATE_TYPES = ["application/pdf", "image/png", "image/jpeg"] as const;
export type CertificateType = (typeof CERTIFICATE_TYPES)[number];

/** Largest certificate document: 10 MB. */
export const MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024;

/** How each type's files begin, so a mislabelled body is refused instead of served as that type. */
const SIGNATURES: Record<CertificateType, { bytes: Buffer; name: string }> = {
  "application/pdf": { bytes: Buffer.from("%PDF-", "latin1"), name: "a PDF document (it must start with %PDF-)" },
  "image/png": { bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), name: "a PNG image" },
  "image/jpeg": { bytes: Buffer.from([0xff, 0xd8, 0xff]), name: "a JPEG image" },
};

export const FILE_EXTENSIONS: Record<CertificateType, string> = {
  "application/pdf": "pdf",
  "image/png": "png",
  "image/jpeg": "jpg",
};

/** A certificate as the API shows it. */
export interface CertificateView {
  sha256: string;
  contentType: string;
  size: number;
  /** Where anyone can download it: `{publicUrl}/certificates/{sha256}`. */
  url: string;
}

/** The certificate type a Content-Type header names (parameters ignored); 415 for any other. */
export function certificateType(contentType: string | undefined): CertificateType {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const known = CERTIFICATE_TYPES.find((t) => t === type);
  if (!known) {
    throw new HttpError(
      415,
      "unsupported_certificate_type",
      `a certificate is sent as ${CERTIFICATE_TYPES.join(", ")}; not ${type ? `"${type}"` : "without a Content-Type"}`,
      { accepted: [...CERTIFICATE_TYPES] },
    );
  }
  return known;
}

/** A SHA-256 as certificates are keyed: 64 lower-case hex digits, no 0x. */
export const normaliseSha256 = (sha256: string): string => sha256.replace(/^0x/i, "").toLowerCase();

const sha256Of = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/** Where certificate `sha256` is served on the gateway at `publicUrl`. */
export const certificateUrl = (publicUrl: string, sha256: string): string =>
  `${publicUrl.replace(/\/+$/, "")}/certificates/${normaliseSha256(sha256)}`;

/** Default bytes of certificates one organisation may upload a day (China Standard Time): 1 GB. */
export const DEFAULT_DAILY_CERTIFICATE_BYTES = 1024 * 1024 * 1024;

/** The day (China Standard Time, UTC+8) of `now`, as YYYY-MM-DD: quotas start again at 00:00 CST. */
function cstDay(now: Date): { day: string; resetsAt: string } {
  const shifted = new Date(now.getTime() + 8 * 3600_000);
  const day = shifted.toISOString().slice(0, 10);
  const resetsAt = new Date(Date.parse(`${day}T00:00:00+08:00`) + 24 * 3600_000).toISOString();
  return { day, resetsAt };
}

export class CertificateService {
  /** One upload at a time per organisation, so two cannot both fit in what is left of its quota. */
  private readonly uploading = new Map<string, Mutex>();

  constructor(
    private readonly store: Store,
    private readonly publicUrl: string,
    /** Bytes of new documents one organisation may upload per day; documents on file already are free. */
    private readonly dailyQuotaBytes = DEFAULT_DAILY_CERTIFICATE_BYTES,
  ) {}

  /** Where certificate `sha256` is served. */
  url(sha256: string): string {
    return certificateUrl(this.publicUrl, sha256);
  }

  view(info: CertificateInfo): CertificateView {
    return { sha256: info.sha256, contentType: info.contentType, size: info.size, url: this.url(info.sha256) };
  }

  /**
   * Checks a document (type, size, that its bytes are of that type) and stores it with its
   * CertificateInfo in one synced write. `created` is false when the same document was on file
   * already; bytes on file that no longer match their hash are replaced by the good ones. A new
   * document counts against its uploader's daily quota (429 `certificate_quota_exceeded`).
   */
  async upload(
    bytes: Buffer,
    contentType: string | undefined,
    uploadedBy: string,
    now = new Date(),
  ): Promise<{ info: CertificateInfo; created: boolean }> {
    const type = certificateType(contentType);
    if (bytes.length === 0) throw new HttpError(400, "empty_certificate", "the certificate document is empty");
    if (bytes.length > MAX_CERTIFICATE_BYTES) {
      throw new HttpError(
        413,
        "certificate_too_large",
        `a certificate document is at most ${MAX_CERTIFICATE_BYTES} bytes; this one has ${bytes.length}`,
      );
    }
    const signature = SIGNATURES[type];
    if (!bytes.subarray(0, signature.bytes.length).equals(signature.bytes)) {
      throw new HttpError(400, "certificate_type_mismatch", `the body is sent as ${type} but is not ${signature.name}`);
    }
    const sha256 = sha256Of(bytes);
    let lock = this.uploading.get(uploadedBy);
    if (!lock) this.uploading.set(uploadedBy, (lock = new Mutex()));
    return lock.run(async () => {
      const known = await this.info(sha256);
      const stored = known ? await this.bytes(sha256) : undefined;
      if (known && stored && sha256Of(stored) === sha256) return { info: known, created: false };
      const { certificates } = this.store;
      const { day, resetsAt } = cstDay(now);
      const quotaKey = keys.certificateQuota(uploadedBy, day);
      const used = ((await certificates.get(quotaKey, { valueEncoding: "json" })) as number | undefined) ?? 0;
      if (used + bytes.length > this.dailyQuotaBytes) {
        throw new HttpError(
          429,
          "certificate_quota_exceeded",
          `this organisation has uploaded ${used} bytes of certificates today (China Standard Time); ` +
            `at most ${this.dailyQuotaBytes} a day`,
          { usedBytes: used, limitBytes: this.dailyQuotaBytes, resetsAt },
        );
      }
      const info: CertificateInfo = known ?? {
        sha256,
        contentType: type,
        size: bytes.length,
        uploadedBy,
        uploadedAt: now.toISOString(),
      };
      await this.store.write(
        [
          { type: "put", sublevel: certificates, key: keys.certificate(sha256), value: bytes },
          {
            type: "put",
            sublevel: certificates,
            key: keys.certificateInfo(sha256),
            value: info,
            valueEncoding: "json",
          },
          { type: "put", sublevel: certificates, key: quotaKey, value: used + bytes.length, valueEncoding: "json" },
        ] as Operation[],
        { sync: true },
      );
      return { info, created: known === null };
    });
  }

  /** What is on file about certificate `sha256`, or null. */
  async info(sha256: string): Promise<CertificateInfo | null> {
    const info = (await this.store.certificates.get(keys.certificateInfo(normaliseSha256(sha256)), {
      valueEncoding: "json",
    })) as CertificateInfo | undefined;
    return info ?? null;
  }

  /**
   * Certificate `sha256` with its bytes, checked against the hash; null when none was uploaded,
   * 409 `certificate_corrupted` when the stored bytes are gone or no longer hash to it.
   */
  async document(sha256: string): Promise<{ info: CertificateInfo; bytes: Buffer } | null> {
    const info = await this.info(sha256);
    if (!info) return null;
    const bytes = await this.bytes(info.sha256);
    if (!bytes || sha256Of(bytes) !== info.sha256) {
      throw new HttpError(
        409,
        "certificate_corrupted",
        `the stored certificate no longer matches its SHA-256 ${info.sha256}; it is not served. Upload the original again`,
        { sha256: info.sha256 },
      );
    }
    return { info, bytes };
  }

  private async bytes(sha256: string): Promise<Buffer | undefined> {
    return (await this.store.certificates.get(keys.certificate(sha256))) as Buffer | undefined;
  }
}
