// A part's sha256 in base64 (as x-amz-checksum-sha256 carries it), computed by the browser's
// WebCrypto: the storage then refuses a part whose bytes changed on the way, at once, instead of
// the whole file failing its check at the end.

function base64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

/** The sha256 of `part` in base64, or null where the browser has no WebCrypto (a page served
 * over plain HTTP to another machine): the part is then sent without it. */
export async function partSha256(part: Blob): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  const digest = await subtle.digest("SHA-256", await part.arrayBuffer());
  return base64(new Uint8Array(digest));
}
