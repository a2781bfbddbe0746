/**
 * A look at the native binary before it is loaded. `dlopen` of a truncated shared library (an
 * interrupted install or copy) maps pages past the end of the file and the process dies with
 * SIGBUS, before any JavaScript can catch anything. So the loader first checks that an ELF file is
 * as long as its own headers say; anything else (another format, a complete file) is left to
 * `dlopen`, whose errors are ordinary exceptions.
 */

type Fs = typeof import('node:fs')

/** The reason `bytes` (an ELF file's start) and `size` show the file is cut short, or null. */
export function elfTruncation(head: Uint8Array, size: number, readAt: (offset: number, length: number) => Uint8Array): string | null {
  if (head.length < 64 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return null
  const is64 = head[4] === 2
  const little = head[5] === 1
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  const u16 = (v: DataView, at: number) => v.getUint16(at, little)
  const word = (v: DataView, at: number) => (is64 ? Number(v.getBigUint64(at, little)) : v.getUint32(at, little))
  const phoff = word(view, is64 ? 0x20 : 0x1c)
  const shoff = word(view, is64 ? 0x28 : 0x20)
  const phentsize = u16(view, is64 ? 0x36 : 0x2a)
  const phnum = u16(view, is64 ? 0x38 : 0x2c)
  const shentsize = u16(view, is64 ? 0x3a : 0x2e)
  const shnum = u16(view, is64 ? 0x3c : 0x30)
  let needed = Math.max(shoff > 0 ? shoff + shnum * shentsize : 0, phoff + phnum * phentsize)
  if (phoff + phnum * phentsize <= size && phentsize > 0) {
    const table = readAt(phoff, phnum * phentsize)
    const v = new DataView(table.buffer, table.byteOffset, table.byteLength)
    for (let i = 0; i < phnum; i++) {
      const base = i * phentsize
      const offset = word(v, base + (is64 ? 0x08 : 0x04))
      const fileSize = word(v, base + (is64 ? 0x20 : 0x10))
      needed = Math.max(needed, offset + fileSize)
    }
  }
  return size < needed ? `${size} of the ${needed} bytes its headers describe` : null
}

/** Why the binary at `file` must not be loaded (it is cut short), or null when `dlopen` may try it. */
export function nativeFileProblem(fs: Fs, file: string): string | null {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch {
    return null
  }
  try {
    const size = fs.fstatSync(fd).size
    const readAt = (offset: number, length: number) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)))
      fs.readSync(fd, buffer, 0, buffer.length, offset)
      return buffer
    }
    const truncated = elfTruncation(readAt(0, 64), size, readAt)
    return truncated === null ? null : `${file} is incomplete (${truncated}): an interrupted install or copy`
  } finally {
    fs.closeSync(fd)
  }
}
