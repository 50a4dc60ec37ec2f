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

export class CertificateService {
  constructor(
    private readonly store: Store,
    private readonly publicUrl: string,
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
   * already; bytes on file that no longer match their hash are replaced by the good ones.
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
    const known = await this.info(sha256);
    const stored = known ? await this.bytes(sha256) : undefined;
    if (known && stored && sha256Of(stored) === sha256) return { info: known, created: false };
    const info: CertificateInfo = known ?? {
      sha256,
      contentType: type,
      size: bytes.length,
      uploadedBy,
      uploadedAt: now.toISOString(),
    };
    const { certificates } = this.store;
    await this.store.write(
      [
        { type: "put", sublevel: certificates, key: keys.certificate(sha256), value: bytes },
        { type: "put", sublevel: certificates, key: keys.certificateInfo(sha256), value: info, valueEncoding: "json" },
      ] as Operation[],
      { sync: true },
    );
    return { info, created: known === null };
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
