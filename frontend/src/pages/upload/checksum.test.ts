import { describe, expect, it } from "vitest";

import { partSha256 } from "./checksum";

describe("partSha256", () => {
  it("is the part's sha256 in base64, as x-amz-checksum-sha256 carries it", async () => {
    // sha256("abc"), a published test vector; a part's bytes as a browser's Blob gives them
    // (jsdom's Blob has no arrayBuffer)
    const part = { arrayBuffer: () => Promise.resolve(new TextEncoder().encode("abc").buffer) } as Blob;
    expect(await partSha256(part)).toBe("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  });
});
