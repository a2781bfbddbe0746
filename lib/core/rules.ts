/**
 * The rules the JS backend shares with the Rust core, from `rules.json` (which the crate's
 * build script turns into Rust): limits, verdict codes, placeholder words and the wording of every
 * message both backends produce. Changing a message there changes it for both.
 */

import rules from './rules.json'

/** Key lengths, payload and keyring limits (see `rules.json`). */
export const LIMITS = rules.limits

/**
 * The compact verdict codes of `verify` (see `NativeKeyring.verifyString`): `current + n` is
 * authentic under key n (0 = current), `wrongAction + n` authentic under key n but for another
 * action; `unknownKey`, `tooLarge`, `notBase64`, `tooShort` as named.
 */
export const VERDICTS = rules.verdicts

/** Words and marks that documentation placeholders are made of (`your-generated-key`, `<base64-key>`). */
export const PLACEHOLDER_WORDS: readonly string[] = rules.placeholderWords

/** How messages name characters that are easy to paste into a key by mistake, by code point. */
export const CHAR_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(rules.charNames).map(([hex, name]) => [parseInt(hex, 16), name]),
)

/** The name of a message in the table. */
export type MessageName = keyof typeof rules.messages

const SLOT = /\{(\w+)\}/g
const fragments: Record<string, string> = rules.fragments

/** The templates, their shared fragments filled in once, at load. */
const templates = Object.fromEntries(
  Object.entries(rules.messages).map(([name, template]) => [name, template.replace(SLOT, (slot, key: string) => fragments[key] ?? slot)]),
) as Record<MessageName, string>

/**
 * A message of the table with `values` in its `{name}` slots. A slot without a value is a defect
 * in this package, so it throws rather than print `undefined` to a user.
 */
export function message(name: MessageName, values: Readonly<Record<string, string | number>> = {}): string {
  return templates[name].replace(SLOT, (_, key: string) => {
    if (!(key in values)) throw new Error(`next-skew-guard: message ${name} needs a value for {${key}}`)
    return String(values[key])
  })
}
