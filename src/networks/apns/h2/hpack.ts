// HPACK (RFC 7541): the header compression of HTTP/2. Each connection has one encoder (for the
// headers we send) and one decoder (for the headers we receive), each with its own dynamic table
// that must stay in step with the peer's, so every header block is encoded or decoded exactly
// once and in the order it travels. No library was used: the HPACK packages on npm (`hpack.js`,
// `hpack`) need Node's Buffer, `util` or `readable-stream`, which the Worker does not carry.
//
// Header names and values are octet strings. Here they are JavaScript strings whose code points
// are the octets (Latin-1), so that the octet lengths the table sizes count are `string.length`.
// APNs headers are all ASCII; the encoder refuses anything outside 0-255 rather than guess.
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman'
import { STATIC_TABLE } from './static-table'

export type HeaderField = readonly [name: string, value: string]

/** The default SETTINGS_HEADER_TABLE_SIZE of HTTP/2 (RFC 9113 section 6.5.2). */
export const DEFAULT_TABLE_SIZE = 4096

/** Names whose values are never put in a table, on either side (RFC 7541 section 7.1.3). */
export const NEVER_INDEXED: readonly string[] = ['authorization', 'proxy-authorization']

/** Thrown by the decoder for any malformed block: the connection answers COMPRESSION_ERROR. */
export class HpackError extends Error {
  override readonly name = 'HpackError'
}

/** Per RFC 7541 section 4.1: an entry's size is its octets plus 32. */
const entrySize = (name: string, value: string) => name.length + value.length + 32

class DynamicTable {
  /** Newest first: dynamic index 1 (absolute 62) is `entries[0]`. */
  readonly entries: HeaderField[] = []
  size = 0

  constructor(public maxSize: number) {}

  add(name: string, value: string) {
    const size = entrySize(name, value)
    this.evictTo(this.maxSize - size)
    // An entry larger than the whole table empties it and is not added (section 4.4).
    if (size > this.maxSize) return
    this.entries.unshift([name, value])
    this.size += size
  }

  resize(maxSize: number) {
    this.maxSize = maxSize
    this.evictTo(maxSize)
  }

  private evictTo(limit: number) {
    while (this.size > Math.max(limit, 0)) {
      const [name, value] = this.entries.pop() ?? ['', '']
      this.size -= entrySize(name, value)
    }
  }
}

/** Index of a full match and of a name match, in the static table then the dynamic one. */
function lookup(table: DynamicTable, name: string, value: string) {
  let nameIndex = 0
  for (let i = 0; i < STATIC_TABLE.length; i++) {
    const entry = STATIC_TABLE[i]
    if (entry?.[0] !== name) continue
    if (entry[1] === value) return { index: i + 1, nameIndex: i + 1 }
    if (nameIndex === 0) nameIndex = i + 1
  }
  for (let i = 0; i < table.entries.length; i++) {
    const entry = table.entries[i]
    if (entry?.[0] !== name) continue
    const index = STATIC_TABLE.length + 1 + i
    if (entry[1] === value) return { index, nameIndex }
    if (nameIndex === 0) nameIndex = index
  }
  return { index: 0, nameIndex }
}

export type HpackEncoderOptions = {
  /** Huffman-encode a string when that is no longer than the raw octets. Default true. */
  huffman?: boolean
  /** Names sent as never-indexed literals. Default NEVER_INDEXED. */
  neverIndexed?: readonly string[]
  /** The table size both ends start from, without a size update. Default 4096. */
  maxTableSize?: number
}

/**
 * Encodes header lists. Strategy, which is what the examples of RFC 7541 appendix C use: a full
 * match in a table is sent as its index; anything else is a literal added to the dynamic table
 * (with the name as an index when one matches), except the never-indexed names.
 */
export class HpackEncoder {
  private readonly table: DynamicTable
  private readonly huffman: boolean
  private readonly neverIndexed: ReadonlySet<string>
  /** Size updates owed at the start of the next block: the smallest since the last, then the last. */
  private pendingSizes: number[] = []

  constructor(options: HpackEncoderOptions = {}) {
    this.huffman = options.huffman ?? true
    this.neverIndexed = new Set(options.neverIndexed ?? NEVER_INDEXED)
    this.table = new DynamicTable(options.maxTableSize ?? DEFAULT_TABLE_SIZE)
  }

  /** The entries of the dynamic table, newest first, and its size in the RFC's accounting. */
  get dynamicTable(): { entries: readonly HeaderField[]; size: number } {
    return { entries: [...this.table.entries], size: this.table.size }
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE changed. This encoder uses all of it up to 4096 and
   * signals the change at the start of the next block (RFC 7541 section 4.2).
   */
  setMaxTableSize(peerLimit: number) {
    const size = Math.min(peerLimit, DEFAULT_TABLE_SIZE)
    if (size === this.table.maxSize && this.pendingSizes.length === 0) return
    const smallest = Math.min(size, this.pendingSizes[0] ?? size, this.table.maxSize)
    this.pendingSizes = smallest < size ? [smallest, size] : [size]
    this.table.resize(size)
  }

  encode(fields: readonly HeaderField[]): Uint8Array {
    const out: number[] = []
    for (const size of this.pendingSizes) writeInteger(out, 0x20, 5, size)
    this.pendingSizes = []
    for (const [name, value] of fields) this.encodeField(out, name, value)
    return Uint8Array.from(out)
  }

  private encodeField(out: number[], name: string, value: string) {
    if (this.neverIndexed.has(name)) {
      const { nameIndex } = lookup(this.table, name, '')
      writeInteger(out, 0x10, 4, nameIndex)
      if (nameIndex === 0) this.writeString(out, name)
      this.writeString(out, value)
      return
    }
    const { index, nameIndex } = lookup(this.table, name, value)
    if (index !== 0) {
      writeInteger(out, 0x80, 7, index)
      return
    }
    writeInteger(out, 0x40, 6, nameIndex)
    if (nameIndex === 0) this.writeString(out, name)
    this.writeString(out, value)
    this.table.add(name, value)
  }

  private writeString(out: number[], text: string) {
    const octets = toOctets(text)
    if (this.huffman && huffmanEncodedLength(octets) <= octets.length) {
      const encoded = huffmanEncode(octets)
      writeInteger(out, 0x80, 7, encoded.length)
      for (const octet of encoded) out.push(octet)
      return
    }
    writeInteger(out, 0x00, 7, octets.length)
    for (const octet of octets) out.push(octet)
  }
}

export type HpackDecoderOptions = {
  /** Our SETTINGS_HEADER_TABLE_SIZE: the largest table the peer may ask for. Default 4096. */
  maxTableSize?: number
  /** Largest decoded header list (octets plus 32 per field) accepted. Default 64 KiB. */
  maxHeaderListSize?: number
}

/** Decodes header blocks. Throws HpackError on anything malformed or over the limits. */
export class HpackDecoder {
  private readonly table: DynamicTable
  private readonly maxTableSize: number
  private readonly maxHeaderListSize: number

  constructor(options: HpackDecoderOptions = {}) {
    this.maxTableSize = options.maxTableSize ?? DEFAULT_TABLE_SIZE
    this.maxHeaderListSize = options.maxHeaderListSize ?? 64 * 1024
    this.table = new DynamicTable(this.maxTableSize)
  }

  get dynamicTable(): { entries: readonly HeaderField[]; size: number } {
    return { entries: [...this.table.entries], size: this.table.size }
  }

  decode(block: Uint8Array): HeaderField[] {
    const reader = new BlockReader(block)
    const fields: HeaderField[] = []
    let listSize = 0
    while (!reader.done) {
      const first = reader.peek()
      if ((first & 0xe0) === 0x20) {
        // Size updates may only open a block (RFC 7541 section 4.2).
        if (fields.length > 0) throw new HpackError('table size update after a header field')
        const size = reader.integer(5)
        if (size > this.maxTableSize) throw new HpackError('table size update over the limit')
        this.table.resize(size)
        continue
      }
      const field = this.decodeField(reader, first)
      listSize += entrySize(field[0], field[1])
      if (listSize > this.maxHeaderListSize) throw new HpackError('header list too large')
      fields.push(field)
    }
    return fields
  }

  private decodeField(reader: BlockReader, first: number): HeaderField {
    if (first & 0x80) return this.entry(reader.integer(7))
    const indexing = (first & 0xc0) === 0x40
    const nameIndex = reader.integer(indexing ? 6 : 4)
    const name = nameIndex === 0 ? reader.string() : (this.entry(nameIndex)[0] ?? '')
    const value = reader.string()
    if (indexing) this.table.add(name, value)
    return [name, value]
  }

  private entry(index: number): HeaderField {
    const entry =
      index <= STATIC_TABLE.length
        ? STATIC_TABLE[index - 1]
        : this.table.entries[index - STATIC_TABLE.length - 1]
    if (index === 0 || entry === undefined) throw new HpackError(`no table entry ${index}`)
    return entry
  }
}

/** Writes an integer with an N-bit prefix (RFC 7541 section 5.1) after the given flag bits. */
function writeInteger(out: number[], flags: number, prefixBits: number, value: number) {
  const max = (1 << prefixBits) - 1
  if (value < max) {
    out.push(flags | value)
    return
  }
  out.push(flags | max)
  let rest = value - max
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80)
    rest = Math.floor(rest / 0x80)
  }
  out.push(rest)
}

class BlockReader {
  private at = 0

  constructor(private readonly bytes: Uint8Array) {}

  get done() {
    return this.at >= this.bytes.length
  }

  peek(): number {
    return this.bytes[this.at] ?? 0
  }

  private next(): number {
    const byte = this.bytes[this.at++]
    if (byte === undefined) throw new HpackError('header block ends inside a field')
    return byte
  }

  integer(prefixBits: number): number {
    const max = (1 << prefixBits) - 1
    let value = this.next() & max
    if (value < max) return value
    for (let shift = 0; ; shift += 7) {
      // 2^31 is far past any size or index a block can need; refuse rather than lose precision.
      if (shift > 28) throw new HpackError('integer too large')
      const byte = this.next()
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
    }
  }

  string(): string {
    const huffman = (this.peek() & 0x80) !== 0
    const length = this.integer(7)
    if (this.at + length > this.bytes.length) throw new HpackError('string longer than the block')
    const raw = this.bytes.subarray(this.at, this.at + length)
    this.at += length
    if (!huffman) return fromOctets(raw)
    try {
      return fromOctets(huffmanDecode(raw))
    } catch (error) {
      throw new HpackError(error instanceof Error ? error.message : 'invalid Huffman string')
    }
  }
}

/** The octets of a header string (code points 0-255). A wider character is a caller's bug. */
export function toOctets(text: string): Uint8Array {
  const octets = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0xff) throw new TypeError(`header text must be Latin-1, got U+${code.toString(16)}`)
    octets[i] = code
  }
  return octets
}

export function fromOctets(octets: Uint8Array): string {
  let text = ''
  // Chunked: String.fromCharCode takes its octets as arguments, and arguments are limited.
  for (let i = 0; i < octets.length; i += 8192) {
    text += String.fromCharCode(...octets.subarray(i, i + 8192))
  }
  return text
}
