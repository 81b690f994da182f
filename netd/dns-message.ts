/**
 * The part of the DNS wire format (RFC 1035) the embedded server needs (pure): read a query's
 * header and question, write a response with A records. Anything else is a format error.
 */

/** DNS record types the server answers for; everything else gets an empty answer. */
export const DnsType = { A: 1, AAAA: 28, ANY: 255 } as const;
/** Response codes. */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
/** The IN class. */
const classIn = 1;
/** Longest name (RFC 1035), and most labels followed while reading one. */
const maxNameBytes = 255;
const maxLabels = 128;

/** A query as read off the wire. */
export interface DnsQuery {
  readonly id: number;
  /** Recursion desired (echoed back). */
  readonly rd: boolean;
  /** opcode 0 (QUERY) with one question. */
  readonly name: string;
  readonly type: number;
  readonly qclass: number;
  /** The raw question section (echoed back as it came). */
  readonly questionBytes: Buffer;
}

/** Why a message could not be read. */
export class DnsFormatError extends Error {
  override readonly name = 'DnsFormatError';
}

/** Reads a query; throws DnsFormatError for anything but a standard query with exactly one question. */
export function parseQuery(msg: Buffer): DnsQuery {
  if (msg.length < 12) throw new DnsFormatError('message shorter than a header');
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError('not a query');
  if (((flags >> 11) & 0xf) !== 0) throw new DnsFormatError('opcode not QUERY');
  if (msg.readUInt16BE(4) !== 1) throw new DnsFormatError('not exactly one question');
  const labels: string[] = [];
  let at = 12;
  let bytes = 0;
  for (let i = 0; ; i++) {
    if (i >= maxLabels || at >= msg.length) throw new DnsFormatError('bad name');
    const len = msg[at] ?? 0;
    if (len === 0) {
      at++;
      break;
    }
    if (len > 63) throw new DnsFormatError('compressed or oversized label in a question');
    bytes += len + 1;
    if (bytes > maxNameBytes || at + 1 + len > msg.length) throw new DnsFormatError('bad name');
    labels.push(msg.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  if (at + 4 > msg.length) throw new DnsFormatError('question cut short');
  return {
    id,
    rd: (flags & 0x0100) !== 0,
    name: labels.join('.').toLowerCase(),
    type: msg.readUInt16BE(at),
    qclass: msg.readUInt16BE(at + 2),
    questionBytes: Buffer.from(msg.subarray(12, at + 4)),
  };
}

/** The id of a message, or undefined when it is too short to have one. */
export function messageId(msg: Buffer): number | undefined {
  return msg.length >= 2 ? msg.readUInt16BE(0) : undefined;
}

/** A response to `q`: authoritative, with one A record per address (name compressed to the question). */
export function encodeResponse(q: Pick<DnsQuery, 'id' | 'rd' | 'questionBytes'>, rcode: number, addresses: readonly string[], ttlSeconds: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(0x8000 | 0x0400 | (q.rd ? 0x0100 : 0) | 0x0080 | (rcode & 0xf), 2); // QR AA RD RA
  header.writeUInt16BE(q.questionBytes.length > 0 ? 1 : 0, 4);
  header.writeUInt16BE(addresses.length, 6);
  // One buffer for the whole answer: a large tasks.NAME answer costs one allocation, not one per record.
  const out = Buffer.alloc(12 + q.questionBytes.length + 16 * addresses.length);
  header.copy(out, 0);
  q.questionBytes.copy(out, 12);
  let at = 12 + q.questionBytes.length;
  for (const a of addresses) {
    out.writeUInt16BE(0xc00c, at); // pointer to the question's name
    out.writeUInt16BE(DnsType.A, at + 2);
    out.writeUInt16BE(classIn, at + 4);
    out.writeUInt32BE(ttlSeconds, at + 6);
    out.writeUInt16BE(4, at + 10);
    let octet = 0;
    let value = 0;
    for (let i = 0; i < a.length; i++) {
      const c = a.charCodeAt(i);
      if (c === 46) {
        out[at + 12 + octet++] = value;
        value = 0;
      } else value = value * 10 + (c - 48);
    }
    out[at + 12 + octet] = value;
    at += 16;
  }
  return out;
}

/** A bare error response when the query could not be read (id echoed when there is one). */
export function encodeError(id: number, rcode: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | 0x0080 | (rcode & 0xf), 2);
  return header;
}

/** Builds a query (for tests and the forwarder's health checks). */
export function encodeQuery(id: number, name: string, type: number = DnsType.A): Buffer {
  const labels = name.split('.').filter((l) => l !== '');
  const parts = [Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0, type >> 8, type & 255, 0, classIn]));
  return Buffer.concat(parts);
}

/** The rcode and A-record addresses of a response (for tests). */
export function parseResponse(msg: Buffer): { id: number; rcode: number; addresses: string[] } {
  const q = { ...parseQuestionOf(msg) };
  const count = msg.readUInt16BE(6);
  const addresses: string[] = [];
  let at = q.end;
  for (let i = 0; i < count; i++) {
    at += (msg[at] ?? 0) >= 0xc0 ? 2 : skipName(msg, at) - at;
    const type = msg.readUInt16BE(at);
    const len = msg.readUInt16BE(at + 8);
    if (type === DnsType.A && len === 4) addresses.push([...msg.subarray(at + 10, at + 14)].join('.'));
    at += 10 + len;
  }
  return { id: msg.readUInt16BE(0), rcode: msg.readUInt16BE(2) & 0xf, addresses };
}

function parseQuestionOf(msg: Buffer): { end: number } {
  const qd = msg.readUInt16BE(4);
  let at = 12;
  for (let i = 0; i < qd; i++) at = skipName(msg, at) + 4;
  return { end: at };
}

function skipName(msg: Buffer, start: number): number {
  let at = start;
  for (let i = 0; i < maxLabels; i++) {
    const len = msg[at] ?? 0;
    if (len === 0) return at + 1;
    if (len >= 0xc0) return at + 2;
    at += 1 + len;
  }
  throw new DnsFormatError('bad name');
}
