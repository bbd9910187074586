// Request headers are limited here, so that a client over the limit gets the JSON envelope
// like every other refusal. Bun's own limit (a bare 431 without a body, checked before the app
// runs) is raised above ours where Hookline starts it (`npm start`, the binary: their
// --max-http-header-size), so ours is the one clients meet; under a plain `bun src/main.ts` both
// are 16 KiB and Bun's answers first.
export const MAX_HEADER_BYTES = 16 * 1024;

/** The size of the header section as sent: each `name: value\r\n` line. */
export function headerBytes(headers: Headers): number {
  let total = 0;
  for (const [name, value] of headers) total += name.length + value.length + 4;
  return total;
}
