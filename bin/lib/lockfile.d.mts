// Types of lockfile.mjs for the TypeScript tests (the .mjs itself is checked by tsconfig.bin.json).
export class LockError extends Error {}
export function resolveIn(packages: Record<string, unknown>, from: string, name: string): string | null
export function registryOf(lock: { packages?: Record<string, { resolved?: string }> }): string
export function tarballUrl(registry: string, name: string, version: string): string
export function editPackageLock(text: string, ours: { packages?: Record<string, object> }, add: Record<string, string>): { text: string, added: string[] }
