// The client's share: the JavaScript a browser loads with a page, read from a running `next start`
// of a build (the `<script src>` of the page's HTML, module scripts only), each file gzipped at
// level 9 as Next.js's own build output used to report "First Load JS". Comparing builds of the
// same page with and without the package's client components gives what they add.
import { gzipSync } from 'node:zlib'

/** `{ files: [{ path, bytes, gzip }], bytes, gzip }` of the scripts `GET <url>/` loads. */
export async function measureFirstLoad(url) {
  const html = await (await fetch(`${url}/`, { headers: { accept: 'text/html' } })).text()
  const paths = new Set()
  for (const tag of html.matchAll(/<script\b[^>]*>/g)) {
    if (/\bnoModule\b|\bnomodule\b/.test(tag[0])) continue
    const src = /\ssrc="([^"]+)"/.exec(tag[0])?.[1]
    if (src) paths.add(src.replace(/&amp;/g, '&'))
  }
  const files = []
  for (const p of paths) {
    const response = await fetch(new URL(p, url))
    if (response.status !== 200) throw new Error(`${p} answered ${response.status}`)
    const bytes = Buffer.from(await response.arrayBuffer())
    files.push({ path: p, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length })
  }
  if (files.length === 0) throw new Error(`${url}/ loads no scripts`)
  return { files, bytes: files.reduce((n, f) => n + f.bytes, 0), gzip: files.reduce((n, f) => n + f.gzip, 0) }
}
