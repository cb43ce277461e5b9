/**
 * HPACK against every example of RFC 7541 appendix C, byte for byte: the encoder must produce the
 * RFC's octets and the decoder must read them back, and after each header list both dynamic
 * tables must hold exactly the entries and size the RFC lists. Then Huffman edge cases and the
 * decoder's refusals (each one a COMPRESSION_ERROR on a real connection).
 */
import { describe, expect, it } from 'vitest'
import {
  type HeaderField,
  HpackDecoder,
  HpackEncoder,
  HpackError,
} from '../../src/networks/apns/h2/hpack'
import { HuffmanError, huffmanDecode, huffmanEncode } from '../../src/networks/apns/h2/huffman'
import { STATIC_TABLE } from '../../src/networks/apns/h2/static-table'

const hex = (text: string) =>
  Uint8Array.from(text.replace(/\s+/g, '').match(/../g) ?? [], (byte) => Number.parseInt(byte, 16))
const toHex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')

type Step = { fields: HeaderField[]; encoded: string; table: HeaderField[]; size: number }
type TableState = Pick<Step, 'table' | 'size'>

/** Encodes and decodes consecutive header lists on one pair, as on one connection. */
function runSteps(steps: Step[], options: { huffman: boolean; tableSize?: number }) {
  const encoder = new HpackEncoder({ huffman: options.huffman, maxTableSize: options.tableSize })
  const decoder = new HpackDecoder({ maxTableSize: options.tableSize })
  for (const step of steps) {
    expect(toHex(encoder.encode(step.fields))).toBe(toHex(hex(step.encoded)))
    expect(decoder.decode(hex(step.encoded))).toEqual(step.fields)
    for (const side of [encoder, decoder]) {
      expect(side.dynamicTable.entries).toEqual(step.table)
      expect(side.dynamicTable.size).toBe(step.size)
    }
  }
}

describe('RFC 7541 C.2: header field representations', () => {
  it('C.2.1 literal with indexing', () => {
    runSteps(
      [
        {
          fields: [['custom-key', 'custom-header']],
          encoded: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
          table: [['custom-key', 'custom-header']],
          size: 55,
        },
      ],
      { huffman: false },
    )
  })

  it('C.2.2 literal without indexing is decoded and leaves the table empty', () => {
    const decoder = new HpackDecoder()
    expect(decoder.decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual([
      [':path', '/sample/path'],
    ])
    expect(decoder.dynamicTable).toEqual({ entries: [], size: 0 })
  })

  it('C.2.3 literal never indexed, also as the encoder writes sensitive names', () => {
    const encoded = '1008 7061 7373 776f 7264 0673 6563 7265 74'
    const encoder = new HpackEncoder({ huffman: false, neverIndexed: ['password'] })
    expect(toHex(encoder.encode([['password', 'secret']]))).toBe(toHex(hex(encoded)))
    expect(encoder.dynamicTable.size).toBe(0)
    const decoder = new HpackDecoder()
    expect(decoder.decode(hex(encoded))).toEqual([['password', 'secret']])
    expect(decoder.dynamicTable.size).toBe(0)
  })

  it('C.2.4 indexed field', () => {
    runSteps([{ fields: [[':method', 'GET']], encoded: '82', table: [], size: 0 }], {
      huffman: false,
    })
  })
})

const REQUEST_1: HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
]
const REQUEST_2: HeaderField[] = [...REQUEST_1, ['cache-control', 'no-cache']]
const REQUEST_3: HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
]
const REQUEST_TABLES: [TableState, TableState, TableState] = [
  { table: [[':authority', 'www.example.com']], size: 57 },
  {
    table: [
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    size: 110,
  },
  {
    table: [
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    size: 164,
  },
]

describe('RFC 7541 C.3 and C.4: requests on one connection', () => {
  it('C.3 without Huffman coding', () => {
    runSteps(
      [
        {
          fields: REQUEST_1,
          encoded: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
          ...REQUEST_TABLES[0],
        },
        { fields: REQUEST_2, encoded: '8286 84be 5808 6e6f 2d63 6163 6865', ...REQUEST_TABLES[1] },
        {
          fields: REQUEST_3,
          encoded: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
          ...REQUEST_TABLES[2],
        },
      ],
      { huffman: false },
    )
  })

  it('C.4 with Huffman coding', () => {
    runSteps(
      [
        {
          fields: REQUEST_1,
          encoded: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
          ...REQUEST_TABLES[0],
        },
        { fields: REQUEST_2, encoded: '8286 84be 5886 a8eb 1064 9cbf', ...REQUEST_TABLES[1] },
        {
          fields: REQUEST_3,
          encoded: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
          ...REQUEST_TABLES[2],
        },
      ],
      { huffman: true },
    )
  })
})

const DATE_1 = 'Mon, 21 Oct 2013 20:13:21 GMT'
const DATE_2 = 'Mon, 21 Oct 2013 20:13:22 GMT'
const LOCATION = 'https://www.example.com'
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'
const RESPONSE_1: HeaderField[] = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', DATE_1],
  ['location', LOCATION],
]
const RESPONSE_2: HeaderField[] = [[':status', '307'], ...RESPONSE_1.slice(1)]
const RESPONSE_3: HeaderField[] = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', DATE_2],
  ['location', LOCATION],
  ['content-encoding', 'gzip'],
  ['set-cookie', COOKIE],
]
const RESPONSE_TABLES: [TableState, TableState, TableState] = [
  {
    table: [
      ['location', LOCATION],
      ['date', DATE_1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    size: 222,
  },
  {
    table: [
      [':status', '307'],
      ['location', LOCATION],
      ['date', DATE_1],
      ['cache-control', 'private'],
    ],
    size: 222,
  },
  {
    table: [
      ['set-cookie', COOKIE],
      ['content-encoding', 'gzip'],
      ['date', DATE_2],
    ],
    size: 215,
  },
]

describe('RFC 7541 C.5 and C.6: responses with a 256-octet table (evictions)', () => {
  it('C.5 without Huffman coding', () => {
    runSteps(
      [
        {
          fields: RESPONSE_1,
          encoded: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
            2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
            6c65 2e63 6f6d`,
          ...RESPONSE_TABLES[0],
        },
        { fields: RESPONSE_2, encoded: '4803 3330 37c1 c0bf', ...RESPONSE_TABLES[1] },
        {
          fields: RESPONSE_3,
          encoded: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
            54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
            5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
            3d31`,
          ...RESPONSE_TABLES[2],
        },
      ],
      { huffman: false, tableSize: 256 },
    )
  })

  it('C.6 with Huffman coding', () => {
    runSteps(
      [
        {
          fields: RESPONSE_1,
          encoded: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
          ...RESPONSE_TABLES[0],
        },
        { fields: RESPONSE_2, encoded: '4883 640e ffc1 c0bf', ...RESPONSE_TABLES[1] },
        {
          fields: RESPONSE_3,
          encoded: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
            9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
          ...RESPONSE_TABLES[2],
        },
      ],
      { huffman: true, tableSize: 256 },
    )
  })
})

describe('HPACK beyond the appendix', () => {
  it('has the 61 entries of the static table', () => {
    expect(STATIC_TABLE).toHaveLength(61)
    expect(STATIC_TABLE[0]).toEqual([':authority', ''])
    expect(STATIC_TABLE[60]).toEqual(['www-authenticate', ''])
  })

  it('round-trips every octet through Huffman', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(huffmanDecode(huffmanEncode(all))).toEqual(all)
    for (const text of ['', 'a', 'apns-expiration', '0', '\u00ff\u0000']) {
      const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0))
      expect(huffmanDecode(huffmanEncode(bytes))).toEqual(bytes)
    }
  })

  it('refuses bad Huffman padding and EOS', () => {
    // 'a' is 00011 (5 bits); padding of zeros instead of ones.
    expect(() => huffmanDecode(Uint8Array.of(0b0001_1000))).toThrow(HuffmanError)
    // A whole octet of ones after a full symbol is padding longer than 7 bits.
    expect(() => huffmanDecode(Uint8Array.of(0b0001_1111, 0xff))).toThrow(HuffmanError)
    // EOS itself: 30 ones.
    expect(() => huffmanDecode(Uint8Array.of(0xff, 0xff, 0xff, 0xfc))).toThrow(HuffmanError)
  })

  it('never indexes authorization and keeps every other field in the table', () => {
    const encoder = new HpackEncoder()
    const decoder = new HpackDecoder()
    const fields: HeaderField[] = [
      [':method', 'POST'],
      ['authorization', 'bearer eyJhbGciOiJFUzI1NiJ9.e30.sig'],
      ['apns-topic', 'com.example.app'],
    ]
    const first = encoder.encode(fields)
    // 0001 0111 = never indexed, name index 23 (authorization), 4-bit prefix: 0x1f 0x08.
    expect(toHex(first.subarray(1, 3))).toBe('1f08')
    const second = encoder.encode(fields)
    expect(decoder.decode(first)).toEqual(fields)
    expect(decoder.decode(second)).toEqual(fields)
    expect(encoder.dynamicTable.entries).toEqual([['apns-topic', 'com.example.app']])
    expect(decoder.dynamicTable.entries).toEqual(encoder.dynamicTable.entries)
    // The token is sent in full each time; the topic becomes one octet (dynamic index 62).
    expect(toHex(second.subarray(1, 3))).toBe('1f08')
    expect(second[second.length - 1]).toBe(0xbe)
  })

  it('signals a smaller then restored table size at the start of the next block', () => {
    const encoder = new HpackEncoder({ huffman: false })
    const decoder = new HpackDecoder()
    decoder.decode(encoder.encode([['x-a', '1']]))
    encoder.setMaxTableSize(0)
    encoder.setMaxTableSize(4096)
    const block = encoder.encode([['x-b', '2']])
    // 001 00000 (size 0), then 001 11111 + 4096-31 in 7-bit groups.
    expect(toHex(block.subarray(0, 4))).toBe('203fe11f')
    expect(decoder.decode(block)).toEqual([['x-b', '2']])
    expect(decoder.dynamicTable.entries).toEqual([['x-b', '2']])
  })

  it('refuses malformed blocks', () => {
    const bad = [
      '80', // index 0
      'c0', // index 64, the third dynamic entry, with an empty table
      '3fe220', // size update over 4096
      '8220', // size update after a field
      '400a6375', // string longer than the block
      '1f', // integer cut short
      '7fffffffffff0f', // integer past 2^31
      '0083ffffff', // Huffman string made of EOS bits
    ]
    for (const block of bad) expect(() => new HpackDecoder().decode(hex(block))).toThrow(HpackError)
  })

  it('refuses a header list over the limit', () => {
    const encoder = new HpackEncoder()
    const block = encoder.encode([['x-big', 'v'.repeat(2000)]])
    expect(() => new HpackDecoder({ maxHeaderListSize: 1000 }).decode(block)).toThrow(HpackError)
  })

  it('encodes Latin-1 octets and refuses wider characters', () => {
    const encoder = new HpackEncoder()
    const fields: HeaderField[] = [['x-latin', 'caf\u00e9']]
    expect(new HpackDecoder().decode(encoder.encode(fields))).toEqual(fields)
    expect(() => new HpackEncoder().encode([['x-emoji', '\u{1f600}']])).toThrow(TypeError)
  })
})
