// A draft as the keep form sends it, and how the server describes what it stored.
export interface Draft {
  title?: string
  subtitle?: string
  body?: string
  color?: string
  notes?: string
}

export function describeDraft(draft: Draft): string {
  return Object.entries(draft)
    .filter(([, value]) => typeof value === 'string')
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join('; ')
}
