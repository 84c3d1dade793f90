import { describe, expect, it } from "vitest";

import type { UploadSession } from "./api";
import {
  DEFAULT_PARTS_ABOVE_MB,
  fileBytesSent,
  forget,
  matchSession,
  partsAboveBytes,
  readRecords,
  received,
  remember,
  resumeWords,
  usesParts,
} from "./resume";

const MB = 1024 * 1024;

function session(id: string, changes: Partial<UploadSession> = {}): UploadSession {
  return {
    id,
    status: "open",
    filename: "big.csv",
    size: 12 * MB,
    sha256: null,
    datasource_name: "sales",
    dry_run: false,
    part_size: 5 * MB,
    part_count: 3,
    storage: "local",
    expires_at: "2030-01-02T00:00:00Z",
    created_at: "2030-01-01T00:00:00Z",
    parts: [],
    received_bytes: 0,
    task_id: null,
    status_url: null,
    ...changes,
  };
}

const FILE = { name: "big.csv", size: 12 * MB, lastModified: 1000 };

describe("partsAboveBytes", () => {
  it("reads ?parts_above_mb from the address, else the default", () => {
    expect(partsAboveBytes("")).toBe(DEFAULT_PARTS_ABOVE_MB * MB);
    expect(partsAboveBytes("?parts_above_mb=8")).toBe(8 * MB);
    expect(partsAboveBytes("?parts_above_mb=0.5")).toBe(MB / 2);
    expect(partsAboveBytes("?parts_above_mb=nope")).toBe(DEFAULT_PARTS_ABOVE_MB * MB);
    expect(partsAboveBytes("?parts_above_mb=-3")).toBe(DEFAULT_PARTS_ABOVE_MB * MB);
  });

  it("sends in parts only a file larger than the size", () => {
    expect(usesParts(8 * MB, 8 * MB)).toBe(false);
    expect(usesParts(8 * MB + 1, 8 * MB)).toBe(true);
  });
});

describe("matchSession", () => {
  it("continues the newest open session of the same name and size", () => {
    const older = session("a", { created_at: "2030-01-01T00:00:00Z" });
    const newer = session("b", { created_at: "2030-01-01T01:00:00Z" });
    expect(matchSession(FILE, [older, newer], [])?.id).toBe("b");
  });

  it("leaves sessions of another file, size or status alone", () => {
    const sessions = [
      session("name", { filename: "other.csv" }),
      session("size", { size: 12 * MB + 1 }),
      session("done", { status: "completed" }),
      session("gone", { status: "expired" }),
    ];
    expect(matchSession(FILE, sessions, [])).toBeNull();
  });

  it("does not continue a session whose file changed since (this browser's record says so)", () => {
    const sessions = [session("a")];
    const changed = [{ id: "a", name: "big.csv", size: 12 * MB, lastModified: 999 }];
    expect(matchSession(FILE, sessions, changed)).toBeNull();
    expect(matchSession(FILE, sessions, [{ ...changed[0]!, lastModified: 1000 }])?.id).toBe("a");
  });
});

describe("received", () => {
  it("adds up the parts the server has", () => {
    const parts = [
      { number: 1, size: 5 * MB, etag: '"x"' },
      { number: 3, size: 2 * MB, etag: '"y"' },
    ];
    expect(received(session("a", { parts }))).toEqual({ parts: 2, bytes: 7 * MB });
  });
});

describe("session records", () => {
  it("remembers, replaces and forgets a session of this browser", () => {
    localStorage.clear();
    remember({ id: "a", name: "big.csv", size: 1, lastModified: 1 });
    remember({ id: "a", name: "big.csv", size: 1, lastModified: 2 });
    remember({ id: "b", name: "other.csv", size: 2, lastModified: 3 });
    expect(readRecords()).toEqual([
      { id: "a", name: "big.csv", size: 1, lastModified: 2 },
      { id: "b", name: "other.csv", size: 2, lastModified: 3 },
    ]);
    forget("a");
    expect(readRecords().map((r) => r.id)).toEqual(["b"]);
  });

  it("reads nothing from a record that is not a list", () => {
    localStorage.setItem("sales-ingest.upload-sessions", "{broken");
    expect(readRecords()).toEqual([]);
  });
});

describe("resumeWords", () => {
  it("says which datasource and options the found upload continues with", () => {
    const found = session("s1", { parts: [{ number: 1, size: 5 * MB, etag: "e" }] });
    expect(resumeWords(found, { on_invalid: "skip", mode: "append" })).toBe(
      "An unfinished upload of big.csv to the datasource sales was found: 1 part of 3 parts (5 MB of 12 MB) is " +
        "already on the server. Resume upload continues the upload to sales, preview: no, invalid rows: skip them, " +
        "load the rest, mode: append, and sends only the missing parts. To change the datasource or the options, " +
        "press Start over: it removes the parts sent and sends the whole file again.",
    );
    const preview = session("s2", { dry_run: true, part_count: 1, size: 4 * MB });
    expect(resumeWords(preview, null)).toContain("0 parts of 1 part (0 B of 4 MB) are already on the server.");
    expect(resumeWords(preview, null)).toContain("continues the upload to sales, preview: yes, and sends only");
  });
});

describe("fileBytesSent", () => {
  it("counts the file's bytes, not the form around them", () => {
    expect(fileBytesSent(18_842, 18_842, 18_227)).toBe(18_227);
    expect(fileBytesSent(9_421, 18_842, 18_227)).toBe(9_114);
    expect(fileBytesSent(500, 0, 300)).toBe(300); // no total known
  });
});
