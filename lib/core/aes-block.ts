/**
 * One AES block encryption, for key check values only (AES(key, 0^128)).
 * WebCrypto has no ECB mode and no synchronous API, and a check value is
 * needed synchronously (`parseKey`, `util.inspect`) on every runtime, so
 * the JS backend carries this small implementation (FIPS-197). It never
 * touches payloads; AES-GCM always comes from the platform.
 */

const SBOX = new Uint8Array(256)
{
  // Build the S-box from GF(2^8) inverses: p walks the field by ×3, q by ÷3.
  const rotl = (x: number, s: number) => ((x << s) | (x >> (8 - s))) & 0xff
  let p = 1
  let q = 1
  do {
    p = (p ^ (p << 1) ^ (p & 0x80 ? 0x1b : 0)) & 0xff
    q ^= q << 1
    q ^= q << 2
    q ^= q << 4
    q &= 0xff
    if (q & 0x80) q ^= 0x09
    SBOX[p] = q ^ rotl(q, 1) ^ rotl(q, 2) ^ rotl(q, 3) ^ rotl(q, 4) ^ 0x63
  } while (p !== 1)
  SBOX[0] = 0x63
}

const xtime = (x: number) => ((x << 1) ^ (x & 0x80 ? 0x1b : 0)) & 0xff

/** Encrypts one 16-byte block with a 16, 24 or 32-byte key. */
export function aesEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const nk = key.length / 4
  const rounds = nk + 6
  const w = new Uint8Array(16 * (rounds + 1))
  w.set(key)
  let rcon = 1
  for (let i = nk; i < 4 * (rounds + 1); i++) {
    let t = w.slice(4 * (i - 1), 4 * i)
    if (i % nk === 0) {
      t = Uint8Array.of(SBOX[t[1]] ^ rcon, SBOX[t[2]], SBOX[t[3]], SBOX[t[0]])
      rcon = xtime(rcon)
    } else if (nk > 6 && i % nk === 4) {
      t = t.map((b) => SBOX[b])
    }
    for (let j = 0; j < 4; j++) w[4 * i + j] = w[4 * (i - nk) + j] ^ t[j]
  }
  let s = block.map((b, i) => b ^ w[i])
  for (let r = 1; r <= rounds; r++) {
    // SubBytes + ShiftRows: row k of column c comes from column c + k.
    const t = new Uint8Array(16)
    for (let c = 0; c < 4; c++) for (let k = 0; k < 4; k++) t[4 * c + k] = SBOX[s[4 * ((c + k) % 4) + k]]
    if (r < rounds) {
      for (let c = 0; c < 4; c++) {
        const [a0, a1, a2, a3] = t.subarray(4 * c, 4 * c + 4)
        const all = a0 ^ a1 ^ a2 ^ a3
        t[4 * c] = a0 ^ all ^ xtime(a0 ^ a1)
        t[4 * c + 1] = a1 ^ all ^ xtime(a1 ^ a2)
        t[4 * c + 2] = a2 ^ all ^ xtime(a2 ^ a3)
        t[4 * c + 3] = a3 ^ all ^ xtime(a3 ^ a0)
      }
    }
    s = t.map((b, i) => b ^ w[16 * r + i])
  }
  return s
}
