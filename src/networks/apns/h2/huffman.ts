// The static Huffman code of HPACK (RFC 7541 section 5.2 and appendix B). The code is canonical:
// codes of one length are consecutive and follow symbol order, and each length starts where the
// shorter one ended, shifted left. So the bit lengths alone define every code, and decoding needs
// only, per length, the first code and where its symbols start in the sorted list (the method of
// RFC 1951 section 3.2.2). Symbol 256 is EOS, which must never appear inside a string.

/** Bit length of the code of each symbol 0..256, copied from RFC 7541 appendix B. */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
]

const EOS = 256
const MAX_LENGTH = 30

type Canonical = {
  /** The code of each symbol. */
  codes: number[]
  /** Symbols sorted by (length, symbol). */
  sorted: number[]
  /** Per length: the first code of that length, and the index in `sorted` of its symbol. */
  firstCode: number[]
  firstIndex: number[]
  count: number[]
}

function buildCanonical(): Canonical {
  const count = new Array<number>(MAX_LENGTH + 1).fill(0)
  for (const length of CODE_LENGTHS) count[length] = (count[length] ?? 0) + 1
  const sorted = CODE_LENGTHS.map((_, symbol) => symbol).sort(
    (a, b) => (CODE_LENGTHS[a] ?? 0) - (CODE_LENGTHS[b] ?? 0) || a - b,
  )
  const firstCode = new Array<number>(MAX_LENGTH + 1).fill(0)
  const firstIndex = new Array<number>(MAX_LENGTH + 1).fill(0)
  let code = 0
  let index = 0
  for (let length = 1; length <= MAX_LENGTH; length++) {
    firstCode[length] = code
    firstIndex[length] = index
    code = (code + (count[length] ?? 0)) * 2
    index += count[length] ?? 0
  }
  const codes = new Array<number>(CODE_LENGTHS.length).fill(0)
  const next = [...firstCode]
  for (const symbol of sorted) {
    const length = CODE_LENGTHS[symbol] ?? 0
    codes[symbol] = next[length] ?? 0
    next[length] = (next[length] ?? 0) + 1
  }
  return { codes, sorted, firstCode, firstIndex, count }
}

const CANONICAL = buildCanonical()

/** Thrown for a string that is not valid HPACK Huffman: the caller answers COMPRESSION_ERROR. */
export class HuffmanError extends Error {
  override readonly name = 'HuffmanError'
}

/** Length in octets of `bytes` once Huffman-encoded, padding included. */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  let bits = 0
  for (const byte of bytes) bits += CODE_LENGTHS[byte] ?? 0
  return Math.ceil(bits / 8)
}

/** Huffman-encodes `bytes`, padding the last octet with the most significant bits of EOS (ones). */
export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(bytes))
  let at = 0
  // Pending bits stay below 8 + 30, well inside the 53 bits a double holds exactly; bitwise
  // operators would cut them to 32.
  let acc = 0
  let pending = 0
  for (const byte of bytes) {
    const length = CODE_LENGTHS[byte] ?? 0
    acc = acc * 2 ** length + (CANONICAL.codes[byte] ?? 0)
    pending += length
    while (pending >= 8) {
      pending -= 8
      const high = Math.floor(acc / 2 ** pending)
      out[at++] = high
      acc -= high * 2 ** pending
    }
  }
  if (pending > 0) out[at] = (acc << (8 - pending)) | (0xff >> pending)
  return out
}

/**
 * Decodes a Huffman-encoded string. Refuses, as RFC 7541 section 5.2 requires, an EOS symbol,
 * padding longer than 7 bits, and padding that is not the most significant bits of EOS.
 */
export function huffmanDecode(bytes: Uint8Array): Uint8Array {
  const out: number[] = []
  let code = 0
  let length = 0
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1)
      length++
      const offset = code - (CANONICAL.firstCode[length] ?? 0)
      if (offset < (CANONICAL.count[length] ?? 0)) {
        const symbol = CANONICAL.sorted[(CANONICAL.firstIndex[length] ?? 0) + offset] ?? EOS
        if (symbol === EOS) throw new HuffmanError('EOS inside a Huffman string')
        out.push(symbol)
        code = 0
        length = 0
      } else if (length >= MAX_LENGTH) {
        throw new HuffmanError('invalid Huffman code')
      }
    }
  }
  if (length > 7) throw new HuffmanError('Huffman padding longer than 7 bits')
  if (code !== 2 ** length - 1) throw new HuffmanError('Huffman padding is not EOS')
  return Uint8Array.from(out)
}
