// The Next.js versions the suites, the demo and the vector generator use, from next-versions.json.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const pins = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'next-versions.json'), 'utf8'))

/** Matrix key ('14', '15.3', '15.5', '16') → `{ next, react, runtime }`. */
export const NEXT_MATRIX = pins.matrix

/** The newest supported Next.js (the repository's devDependency and the example app's pins). */
export const LATEST = pins.matrix['16']

/** Major ('14', '15', '16') → the pins of the version whose own encryption code makes the test vectors. */
export const VECTOR_VERSIONS = Object.fromEntries(pins.vectors.map((key) => [key.split('.')[0], pins.matrix[key]]))

/**
 * Matrix keys the recovery suite runs, newest first: one version per major, because its story
 * (two builds, tabs in Chromium) is the longest; each version's own behaviour is the matrix suite's.
 */
export const RECOVERY_VERSIONS = [...pins.recovery].sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
