'use server'
// A revalidating action: its answer carries the page's fresh tree. Unchanged in v2 (same ID), so a
// v1 tab's call runs on v2 and receives v2's tree, whose client components v1 does not have.
import { revalidatePath } from 'next/cache'
import { addBump } from './counter'

export async function bump(): Promise<void> {
  addBump()
  revalidatePath('/revalidate')
}
