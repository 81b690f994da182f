/**
 * Tar headers (ustar, GNU and PAX extensions): the little of the format the layer rewriter needs to
 * read entry names and sizes and to write device and directory entries. Pure.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** Size of a tar block in bytes. */
export const tarBlockBytes = 512;

/** Tar type flags we look at. */
export const TarType = {
  file: '0',
  oldFile: '\0',
  hardLink: '1',
  symlink: '2',
  charDevice: '3',
  directory: '5',
  paxHeader: 'x',
  paxGlobal: 'g',
  gnuLongName: 'L',
  gnuLongLink: 'K',
} as const;

/** The fields of one header block. */
export interface TarHeader {
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: string;
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
}

function corrupt(why: string): TsswarmError {
  return new TsswarmError(ErrorCode.CORRUPT, `layer tarball: ${why}`);
}

function cString(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return Buffer.from(nul >= 0 ? field.subarray(0, nul) : field).toString('utf8');
}

function numeric(block: Uint8Array, start: number, length: number): number {
  const first = block[start] ?? 0;
  if (first & 0x80) {
    // GNU base-256: big-endian, top bit of the first byte set.
    let n = first & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + (block[start + i] ?? 0);
    if (!Number.isSafeInteger(n)) throw corrupt('numeric field too large');
    return n;
  }
  const text = cString(block, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`bad octal field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

/** True when the block is all zeros (end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < tarBlockBytes; i++) if (block[i] !== 0) return false;
  return true;
}

/** Parses one 512-byte header block, checking its checksum; throws CORRUPT when it is not a header. */
export function parseTarHeader(block: Uint8Array): TarHeader {
  if (block.length < tarBlockBytes) throw corrupt('short header block');
  let sum = 0;
  for (let i = 0; i < tarBlockBytes; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  const stored = numeric(block, 148, 8);
  if (stored !== sum) throw corrupt(`header checksum mismatch (not a tar archive?)`);
  const magic = cString(block, 257, 6);
  const prefix = magic === 'ustar' ? cString(block, 345, 155) : '';
  const name = cString(block, 0, 100);
  const flag = String.fromCharCode(block[156] ?? 0);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: numeric(block, 100, 8),
    uid: numeric(block, 108, 8),
    gid: numeric(block, 116, 8),
    size: numeric(block, 124, 12),
    mtime: numeric(block, 136, 12),
    typeflag: flag,
    linkname: cString(block, 157, 100),
    devmajor: magic === 'ustar' ? numeric(block, 329, 8) : 0,
    devminor: magic === 'ustar' ? numeric(block, 337, 8) : 0,
  };
}

/** Bytes an entry's data takes in the archive (rounded up to whole blocks). */
export function paddedSize(size: number): number {
  return Math.ceil(size / tarBlockBytes) * tarBlockBytes;
}

function writeString(block: Buffer, start: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  bytes.copy(block, start, 0, Math.min(bytes.length, length));
}

function writeOctal(block: Buffer, start: number, length: number, value: number): void {
  writeString(block, start, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** Encodes a ustar header block (names longer than 100 bytes need a PAX `path` record before it). */
export function encodeTarHeader(h: TarHeader): Buffer {
  const block = Buffer.alloc(tarBlockBytes);
  writeString(block, 0, 100, h.name);
  writeOctal(block, 100, 8, h.mode);
  writeOctal(block, 108, 8, h.uid);
  writeOctal(block, 116, 8, h.gid);
  writeOctal(block, 124, 12, h.size);
  writeOctal(block, 136, 12, h.mtime);
  block.fill(32, 148, 156);
  writeString(block, 156, 1, h.typeflag);
  writeString(block, 157, 100, h.linkname);
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  writeOctal(block, 329, 8, h.devmajor);
  writeOctal(block, 337, 8, h.devminor);
  let sum = 0;
  for (let i = 0; i < tarBlockBytes; i++) sum += block[i] ?? 0;
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** Encodes PAX records (`path`, `SCHILY.xattr.*`) as an `x` header block plus its padded data. */
export function encodePaxEntry(records: Readonly<Record<string, string>>, name = 'PaxHeader'): Buffer {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const rest = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(rest) + 1;
    while (String(length).length + Buffer.byteLength(rest) !== length) length = String(length).length + Buffer.byteLength(rest);
    body += `${length}${rest}`;
  }
  const data = Buffer.from(body, 'utf8');
  const header = encodeTarHeader({ name, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, typeflag: TarType.paxHeader, linkname: '', devmajor: 0, devminor: 0 });
  return Buffer.concat([header, data, Buffer.alloc(paddedSize(data.length) - data.length)]);
}

/** Parses PAX record data into key/value pairs; throws CORRUPT on malformed records. */
export function parsePaxRecords(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (at < buf.length) {
    if (buf[at] === 0) break;
    const space = buf.indexOf(0x20, at);
    if (space < 0) throw corrupt('malformed PAX record');
    const length = Number(buf.subarray(at, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= space - at || at + length > buf.length) throw corrupt('malformed PAX record length');
    const record = buf.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq < 0) throw corrupt('PAX record without =');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return out;
}
