import { readFileSync } from 'node:fs';
import { atOffset, UklTrimError } from '../util/errors.js';

/**
 * `ar` archives as GNU ar and BSD ar write them: the `!<arch>\n` magic, 60-byte member headers,
 * the GNU symbol index (`/`, `/SYM64/`), the GNU long-name table (`//` with `/123` references) and
 * BSD `#1/<len>` names. Members are views into the archive's one buffer, never copies.
 */

export type ArchiveErrorCode = 'unreadable' | 'not-archive' | 'unsupported' | 'malformed';

export class ArchiveError extends UklTrimError<ArchiveErrorCode> {
  static readonly codes: readonly ArchiveErrorCode[] = ['unreadable', 'not-archive', 'unsupported', 'malformed'];

  /** `file: message (at offset N)`, the offset also kept as data */
  static at(code: ArchiveErrorCode, message: string, offset: number, file?: string): ArchiveError {
    const where = atOffset(message, { file, offset });
    return new ArchiveError(code, where.message, where.details);
  }
}

export interface ArchiveMember {
  name: string;
  /** where the member's 60-byte header starts: the offset the symbol index points at */
  headerOffset: number;
  dataOffset: number;
  size: number;
  /** the member's bytes: a view into the archive buffer */
  data: Uint8Array;
}

export interface ArchiveSymbol {
  name: string;
  memberHeaderOffset: number;
}

const MAGIC = '!<arch>\n';
const THIN_MAGIC = '!<thin>\n';
const HEADER_SIZE = 60;

const latin1 = new TextDecoder('latin1');

export function isArchive(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && latin1.decode(bytes.subarray(0, MAGIC.length)) === MAGIC;
}

interface RawHeader {
  rawName: string;
  headerOffset: number;
  dataOffset: number;
  size: number;
}

export class Archive {
  private longNames: Uint8Array | undefined;
  private longNamesOffset = 0;
  private symbolTable: { data: Uint8Array; offset: number; wide: boolean } | undefined;
  /** first offset after the special members (symbol index, long names) */
  private readonly firstMemberOffset: number;

  private constructor(readonly bytes: Uint8Array, readonly file: string | undefined) {
    if (bytes.length < MAGIC.length) this.fail(`truncated archive: ${bytes.length} bytes`, 0);
    const magic = latin1.decode(bytes.subarray(0, MAGIC.length));
    if (magic === THIN_MAGIC) this.fail('thin archives (members stored outside the archive) are not supported', 0, 'unsupported');
    if (magic !== MAGIC) this.fail('not an ar archive (bad magic)', 0, 'not-archive');
    // the special members come first; remember them and where the ordinary members start
    let offset = MAGIC.length;
    while (offset < bytes.length) {
      const header = this.readHeader(offset);
      const data = bytes.subarray(header.dataOffset, header.dataOffset + header.size);
      if (header.rawName === '/' || header.rawName === '/SYM64/') {
        this.symbolTable = { data, offset: header.dataOffset, wide: header.rawName === '/SYM64/' };
      } else if (header.rawName === '//') {
        this.longNames = data;
        this.longNamesOffset = header.dataOffset;
      } else break;
      offset = nextHeaderOffset(header);
    }
    this.firstMemberOffset = offset;
  }

  static parse(bytes: Uint8Array, file?: string): Archive {
    return new Archive(bytes, file);
  }

  private fail(message: string, offset: number, code: ArchiveErrorCode = 'malformed'): never {
    throw ArchiveError.at(code, message, offset, this.file);
  }

  private readHeader(offset: number): RawHeader {
    if (offset + HEADER_SIZE > this.bytes.length) this.fail(`truncated member header (${this.bytes.length - offset} of ${HEADER_SIZE} bytes)`, offset);
    const text = latin1.decode(this.bytes.subarray(offset, offset + HEADER_SIZE));
    if (text.slice(58, 60) !== '`\n') this.fail('bad member header terminator', offset + 58);
    const sizeField = text.slice(48, 58).trim();
    if (!/^\d+$/.test(sizeField)) this.fail(`bad member size field '${sizeField}'`, offset + 48);
    const size = Number(sizeField);
    const dataOffset = offset + HEADER_SIZE;
    if (dataOffset + size > this.bytes.length) this.fail(`member of ${size} bytes runs past the end of the ${this.bytes.length}-byte archive`, offset);
    return { rawName: text.slice(0, 16).trimEnd(), headerOffset: offset, dataOffset, size };
  }

  private longName(index: number, headerOffset: number): string {
    const table = this.longNames;
    if (table === undefined) this.fail(`long name /${index} without a '//' table`, headerOffset);
    if (index >= table.length) this.fail(`long name /${index} beyond the ${table.length}-byte '//' table`, headerOffset);
    let end = index;
    // GNU ends each entry with "/\n"; some writers use only "\n" or NUL
    while (end < table.length && table[end] !== 0x0a && table[end] !== 0) end++;
    if (end === table.length) this.fail(`unterminated long name /${index}`, this.longNamesOffset + index);
    let name = latin1.decode(table.subarray(index, end));
    if (name.endsWith('/')) name = name.slice(0, -1);
    return name;
  }

  /** the member whose header starts at `headerOffset` (what the symbol index points at) */
  memberAt(headerOffset: number): ArchiveMember {
    const header = this.readHeader(headerOffset);
    const raw = header.rawName;
    let name: string;
    let dataOffset = header.dataOffset;
    let size = header.size;
    const longReference = /^\/(\d+)$/.exec(raw);
    const bsdName = /^#1\/(\d+)$/.exec(raw);
    if (longReference !== null) {
      name = this.longName(Number(longReference[1]), headerOffset);
    } else if (bsdName !== null) {
      // BSD: the name is the first <len> bytes of the data
      const length = Number(bsdName[1]);
      if (length > size) this.fail(`BSD name length ${length} exceeds member size ${size}`, headerOffset);
      name = latin1.decode(this.bytes.subarray(dataOffset, dataOffset + length)).replace(/\0+$/, '');
      dataOffset += length;
      size -= length;
    } else {
      name = raw.endsWith('/') && raw !== '/' && raw !== '//' ? raw.slice(0, -1) : raw;
    }
    return { name, headerOffset, dataOffset, size, data: this.bytes.subarray(dataOffset, dataOffset + size) };
  }

  /** ordinary members in order, each a view into the archive (the special index members skipped) */
  *members(): Generator<ArchiveMember> {
    let offset = this.firstMemberOffset;
    while (offset < this.bytes.length) {
      // a lone newline pad at the very end is tolerated
      if (offset === this.bytes.length - 1 && this.bytes[offset] === 0x0a) return;
      const member = this.memberAt(offset);
      if (member.name !== '__.SYMDEF' && member.name !== '__.SYMDEF SORTED') yield member;
      offset = nextHeaderOffset(this.readHeader(offset));
    }
  }

  /** the GNU symbol index: each defined global symbol and the header offset of its member */
  symbols(): ArchiveSymbol[] {
    const table = this.symbolTable;
    if (table === undefined) return [];
    const { data, offset, wide } = table;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const width = wide ? 8 : 4;
    const readCount = (at: number): number => {
      if (at + width > data.length) this.fail('truncated symbol index', offset + at);
      if (!wide) return view.getUint32(at, false);
      const high = view.getUint32(at, false);
      if (high >= 0x200000) this.fail('symbol index value beyond 2^53', offset + at);
      return high * 0x1_0000_0000 + view.getUint32(at + 4, false);
    };
    const count = readCount(0);
    if (width + count * width > data.length) this.fail(`symbol index claims ${count} entries, more than fit in ${data.length} bytes`, offset);
    const symbols: ArchiveSymbol[] = [];
    let nameAt = width + count * width;
    for (let i = 0; i < count; i++) {
      const end = data.indexOf(0, nameAt);
      if (end < 0) this.fail(`unterminated name of symbol ${i} in the symbol index`, offset + nameAt);
      symbols.push({ name: latin1.decode(data.subarray(nameAt, end)), memberHeaderOffset: readCount(width + i * width) });
      nameAt = end + 1;
    }
    return symbols;
  }
}

function nextHeaderOffset(header: RawHeader): number {
  // member data is padded to an even offset
  return header.dataOffset + header.size + (header.size % 2);
}

export function parseArchive(bytes: Uint8Array, file?: string): Archive {
  return Archive.parse(bytes, file);
}

export function readArchiveFile(path: string): Archive {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw ArchiveError.at('unreadable', `cannot read: ${(e as Error).message}`, 0, path);
  }
  return Archive.parse(bytes, path);
}
