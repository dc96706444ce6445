/**
 * A small reader of `multipart/form-data` bodies (RFC 7578) that are already held whole and bounded
 * (the feed preview takes at most MAX_BODY_BYTES: README, "Previewing a feed"). Parts keep their raw
 * bytes, so a national export in Windows-1252 reaches the feed reader exactly as a push would send it.
 */

/** One part of a multipart body: its bytes and what its headers say about them. */
export interface MultipartPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

/** The body is not well-formed multipart, or breaks one of the bounds below; the message says where. */
export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** Bounds on what one body may hold, checked before the work they bound. */
export interface MultipartLimits {
  /** Parts one body may have. */
  maxParts: number;
  /** Bytes the header block of one part may take. */
  maxHeaderBytes: number;
}

const DEFAULT_LIMITS: MultipartLimits = { maxParts: 8, maxHeaderBytes: 8 * 1024 };
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary a `multipart/form-data` content type names, or null when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | null {
  const [type, ...params] = (contentType ?? '').split(';');
  if (type!.trim().toLowerCase() !== 'multipart/form-data') return null;
  for (const param of params) {
    const match = /^\s*boundary\s*=\s*(?:"([^"]*)"|([^\s"]*))\s*$/i.exec(param);
    if (!match) continue;
    const boundary = match[1] ?? match[2] ?? '';
    // RFC 2046: 1 to 70 characters, no trailing space.
    if (boundary.length < 1 || boundary.length > 70 || boundary.endsWith(' '))
      throw new MultipartError('the multipart boundary must be 1 to 70 characters');
    return boundary;
  }
  throw new MultipartError('a multipart/form-data body needs a boundary in its Content-Type');
}

/** The `name="..."` style parameters of a header value (quoted or not). */
function headerParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const match of value.matchAll(/;\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g))
    params.set(match[1]!.toLowerCase(), match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!);
  return params;
}

function parsePartHeaders(block: string, index: number): Omit<MultipartPart, 'data'> {
  let disposition: string | null = null;
  let contentType: string | null = null;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0)
      throw new MultipartError(`part ${index + 1}: a header line without a name ("${line.slice(0, 40)}")`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\s*(;|$)/i.test(disposition))
    throw new MultipartError(`part ${index + 1}: needs "Content-Disposition: form-data; name=..."`);
  const params = headerParams(disposition);
  const name = params.get('name');
  if (!name) throw new MultipartError(`part ${index + 1}: its Content-Disposition has no name`);
  return { name: name.slice(0, 100), filename: params.get('filename') ?? null, contentType };
}

/**
 * The parts of a whole multipart body, by name. Refuses (MultipartError) a body without its opening
 * or closing boundary, a part without a name, a name used twice, and bodies past `limits`.
 */
export function parseMultipart(
  body: Buffer,
  boundary: string,
  limits: MultipartLimits = DEFAULT_LIMITS,
): Map<string, MultipartPart> {
  const delimiter = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  const parts = new Map<string, MultipartPart>();
  // A preamble before the first boundary is allowed (and ignored) by RFC 2046.
  let at = body.subarray(0, delimiter.length).equals(delimiter) ? 0 : body.indexOf(between);
  if (at < 0) throw new MultipartError('the body does not start with its multipart boundary');
  at += at === 0 ? delimiter.length : between.length;
  for (let index = 0; ; index++) {
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts; // "--": the closing boundary
    // Transport padding (spaces, tabs) may follow a boundary before its line ends.
    while (body[at] === 0x20 || body[at] === 0x09) at++;
    if (!body.subarray(at, at + 2).equals(CRLF))
      throw new MultipartError(
        at >= body.length
          ? 'the body ends without its closing boundary'
          : `part ${index + 1}: its boundary line must end with CRLF`,
      );
    if (index >= limits.maxParts) throw new MultipartError(`a body may have at most ${limits.maxParts} parts`);
    const headersStart = at + 2;
    const headersEnd = body.indexOf(HEADER_END, headersStart);
    if (headersEnd < 0 || headersEnd - headersStart > limits.maxHeaderBytes) {
      throw new MultipartError(
        headersEnd < 0
          ? `part ${index + 1}: its headers do not end (a blank line must follow them)`
          : `part ${index + 1}: its headers are longer than ${limits.maxHeaderBytes} bytes`,
      );
    }
    const headers = parsePartHeaders(body.toString('utf8', headersStart, headersEnd), index);
    const dataStart = headersEnd + HEADER_END.length;
    const dataEnd = body.indexOf(between, dataStart);
    if (dataEnd < 0) throw new MultipartError(`part "${headers.name}": the body ends without its closing boundary`);
    if (parts.has(headers.name)) throw new MultipartError(`part "${headers.name}" is sent twice`);
    parts.set(headers.name, { ...headers, data: body.subarray(dataStart, dataEnd) });
    at = dataEnd + between.length;
  }
}
