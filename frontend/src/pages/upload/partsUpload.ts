// A large file sent in parts with Uppy (@uppy/core + @uppy/aws-s3 in multipart mode), whose
// documented callbacks (createMultipartUpload, listParts, signPart, completeMultipartUpload,
// abortMultipartUpload) call the service's upload sessions: each part is PUT straight to the
// address the service signs (S3 itself, or the service's own part address for the local folder).
// Uppy retries a failed part, pauses and resumes; a session is only removed when the person
// cancels it, never when a part fails or the page goes away, so that it can be continued later.
// Each part goes with its sha256, so that a part whose bytes changed is refused as it arrives.
// A part PUT answered with Retry-After (another request is writing that part) is sent again after
// the time said (retryAfter.ts), before Uppy's own retries.
import AwsS3, { type AwsS3Part } from "@uppy/aws-s3";
import Uppy, { type Body, type Meta, type UppyFile } from "@uppy/core";

import { ApiError } from "../../api/errors";
import type { UploadAccepted } from "../../api/rest";
import { abortSession, completeSession, getSession, partAddress, type UploadSession } from "./api";
import { partSha256 } from "./checksum";
import { uploadPartBytes } from "./retryAfter";

type PartsMeta = Meta & { sessionId: string };
type PartsFile = UppyFile<PartsMeta, Body>;

export interface PartsEvents {
  onProgress: (sent: number, total: number) => void;
  onPaused: (paused: boolean) => void;
  onError: (error: unknown) => void;
  onDone: (answer: UploadAccepted) => void;
}

/** Uppy's error for a part the storage refused, in words. */
function partError(error: unknown): unknown {
  const source = (error as { source?: { status?: number } } | null)?.source;
  if (source && typeof source.status === "number") {
    const answered = source.status === 0 ? "could not reach the storage" : `was refused (HTTP ${source.status})`;
    return new ApiError(
      source.status,
      `A part of the file ${answered}`,
      "Press Retry to send the missing parts again: the parts already sent are kept.",
    );
  }
  return error;
}

export class PartsUpload {
  readonly #uppy: Uppy<PartsMeta, Body>;
  #session: UploadSession | null = null;
  #fileId: string | null = null;
  #answer: UploadAccepted | null = null;

  constructor(events: PartsEvents) {
    this.#uppy = new Uppy<PartsMeta, Body>({ autoProceed: false, allowMultipleUploadBatches: true });
    this.#uppy.use(AwsS3<PartsMeta, Body>, {
      // The page sends only files above its size here (resume.ts usesParts): all go in parts.
      shouldUseMultipart: true,
      limit: 4,
      retryDelays: [0, 1000, 3000, 5000],
      uploadPartBytes,
      // The server decides the part size when the session is created (UPLOAD_PART_MB).
      getChunkSize: () => this.#session?.part_size ?? 16 * 1024 * 1024,
      createMultipartUpload: (file) => ({ uploadId: file.meta.sessionId, key: file.meta.sessionId }),
      listParts: async (file, { uploadId, signal }) => {
        const session = await getSession(uploadId ?? file.meta.sessionId, signal);
        return session.parts.map((p): AwsS3Part => ({ PartNumber: p.number, Size: p.size, ETag: p.etag }));
      },
      // The part's sha256 is signed into its address: a part changed on the way is refused.
      signPart: async (_file, { uploadId, partNumber, body, signal }) => {
        const address = await partAddress(uploadId, partNumber, await partSha256(body), signal);
        return { method: "PUT", url: address.url, headers: address.headers };
      },
      completeMultipartUpload: async (_file, { uploadId, parts, signal }) => {
        const sent = parts.flatMap((p) => (p.PartNumber && p.ETag ? [{ number: p.PartNumber, etag: p.ETag }] : []));
        this.#answer = await completeSession(uploadId, sent, signal);
        return { location: this.#answer.status_url };
      },
      // Uppy asks this when a part failed for good and when the page goes away too: the session
      // stays open for Retry and for a later visit. Cancel removes it (cancel() below).
      abortMultipartUpload: () => undefined,
    });
    this.#uppy.on("upload-progress", (_file, progress) => {
      events.onProgress(progress.bytesUploaded, progress.bytesTotal ?? 0);
    });
    this.#uppy.on("upload-pause", (_file, paused) => events.onPaused(paused));
    this.#uppy.on("upload-error", (_file, error) => events.onError(partError(error)));
    this.#uppy.on("upload-success", () => {
      if (this.#answer) events.onDone(this.#answer);
      this.#clear();
    });
  }

  /** Sends `file` into `session`; `resume`: the session already has parts (listed first). */
  async start(file: File, session: UploadSession, resume: boolean): Promise<void> {
    this.#clear();
    this.#session = session;
    this.#answer = null;
    const id = this.#uppy.addFile({
      name: file.name,
      type: file.type || "application/octet-stream",
      data: file,
      meta: { sessionId: session.id },
    });
    this.#fileId = id;
    if (resume) this.#restoring(id);
    await this.#uppy.upload();
  }

  /** Pauses or resumes; true when now paused. */
  pauseResume(): boolean {
    if (!this.#fileId) return false;
    return this.#uppy.pauseResume(this.#fileId) ?? false;
  }

  /** After a failure: asks the server which parts it has and sends the others. */
  async retry(): Promise<void> {
    if (!this.#fileId) return;
    this.#restoring(this.#fileId);
    await this.#uppy.retryUpload(this.#fileId);
  }

  /** Stops and removes the session and its parts; answers how many parts the server had (null
   * when it could not say). */
  async cancel(): Promise<number | null> {
    const session = this.#session;
    this.#clear();
    this.#session = null;
    if (!session) return null;
    const had = await getSession(session.id).then(
      (found) => found.parts.length,
      () => null,
    );
    await abortSession(session.id);
    return had;
  }

  /** The page goes away: stops sending, keeps the session for a later visit. */
  destroy(): void {
    this.#uppy.destroy();
  }

  /** The file continues its session: Uppy lists the parts the server has before sending. */
  #restoring(fileId: string): void {
    const uploadId = (this.#uppy.getFile(fileId) as PartsFile).meta.sessionId;
    this.#uppy.setFileState(fileId, { s3Multipart: { uploadId, key: uploadId } } as Partial<PartsFile>);
  }

  #clear(): void {
    if (this.#fileId && this.#uppy.getFile(this.#fileId)) this.#uppy.removeFile(this.#fileId);
    this.#fileId = null;
  }
}
