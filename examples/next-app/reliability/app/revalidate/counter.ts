// A counter kept by the server process (on globalThis, shared by every bundle of the process).
const store = globalThis as unknown as { __exampleBumps?: number }

export function bumps(): number {
  return store.__exampleBumps ?? 0
}

export function addBump(): number {
  store.__exampleBumps = bumps() + 1
  return store.__exampleBumps
}
