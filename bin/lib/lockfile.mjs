// Pure edits on PPTist's package-lock.json: the npm packages the installer adds to package.json get
// the same entries in the lock, taken from this package's own package-lock.json (the exact versions
// and integrity hashes the extension is built and tested with), so PPTist's `npm ci` still passes.
// No network: nothing is resolved, only copied. Lockfile formats: https://docs.npmjs.com/cli/v11/configuring-npm/package-lock-json
// (v2 keeps both `packages` and the legacy `dependencies` tree; v3 only `packages`; v1 is refused).

/** Why the lock cannot be edited; the installer turns it into a refusal. */
export class LockError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message)
    this.name = 'LockError'
  }
}

/**
 * @typedef {{ version?: string, resolved?: string, integrity?: string, dev?: boolean, optional?: boolean, devOptional?: boolean,
 *   peer?: boolean, dependencies?: Record<string, string>, optionalDependencies?: Record<string, string>,
 *   peerDependencies?: Record<string, string>, peerDependenciesMeta?: Record<string, { optional?: boolean }>,
 *   [key: string]: unknown }} LockPackage
 * @typedef {{ version: string, resolved?: string, integrity?: string, dev?: boolean, optional?: boolean, devOptional?: boolean,
 *   requires?: Record<string, string>, dependencies?: Record<string, LegacyEntry>, [key: string]: unknown }} LegacyEntry
 * @typedef {{ lockfileVersion?: number, packages?: Record<string, LockPackage>, dependencies?: Record<string, LegacyEntry>,
 *   [key: string]: unknown }} Lock
 */

/** @param {string} path a `packages` key ('' is the root) @param {string} name */
const child = (path, name) => (path ? `${path}/node_modules/${name}` : `node_modules/${name}`)

/** The directory whose node_modules holds `path`'s package ('' for a top-level one). @param {string} path */
function parentOf(path) {
  const i = path.lastIndexOf('/node_modules/')
  return i < 0 ? '' : path.slice(0, i)
}

/**
 * Where Node finds `name` when required from the package at `from`: the nearest node_modules up the tree.
 * @param {Record<string, LockPackage>} packages @param {string} from @param {string} name
 * @returns {string | null} the `packages` key, or null when nothing provides it
 */
export function resolveIn(packages, from, name) {
  for (let dir = from; ; dir = parentOf(dir)) {
    if (packages[child(dir, name)]) return child(dir, name)
    if (!dir) return null
  }
}

/** The registry host PPTist's lock downloads from (most `resolved` URLs), e.g. https://registry.npmmirror.com. @param {Lock} lock */
export function registryOf(lock) {
  /** @type {Map<string, number>} */
  const counts = new Map()
  for (const entry of Object.values(lock.packages ?? {})) {
    const m = typeof entry.resolved === 'string' ? /^(https?:\/\/[^/]+(?:\/[^@]*?)?)\/(?:@[^/]+\/)?[^/@]+\/-\//.exec(entry.resolved) : null
    if (m) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'https://registry.npmjs.org'
}

/** npm's tarball URL for name@version on `registry`. @param {string} registry @param {string} name @param {string} version */
export const tarballUrl = (registry, name, version) => `${registry}/${name}/-/${name.split('/').pop()}-${version}.tgz`

/** @param {Record<string, unknown>} obj */
const sortKeys = obj => Object.fromEntries(Object.keys(obj).sort((a, b) => a.localeCompare(b, 'en')).map(k => [k, obj[k]]))
/** @param {string[]} keys */
const isSorted = keys => keys.every((k, i) => i === 0 || keys[i - 1].localeCompare(k, 'en') <= 0)

/** The legacy (v2) tree entry for a `packages` key, creating the nested `dependencies` objects on the way when asked. @param {Lock} lock @param {string} path @param {boolean} create */
function legacyAt(lock, path, create) {
  const names = path.split(/(?:^|\/)node_modules\//).filter(Boolean)
  let level = lock.dependencies
  /** @type {LegacyEntry | undefined} */
  let entry
  for (const [i, name] of names.entries()) {
    if (!level) return undefined
    if (i === names.length - 1) return { level, name, entry: level[name] }
    entry = level[name]
    if (!entry) return undefined
    if (!entry.dependencies && create) entry.dependencies = {}
    level = entry.dependencies
  }
  return undefined
}

/**
 * Adds `add` (name → the range written to package.json) to the lock's root, and every package they
 * need (our lock's closure) where npm would put it: top-level when free, nested under its dependent
 * when PPTist already has another version there. A package PPTist already has at the same version
 * is reused (and counted as a production package from then on). Entries keep npm's key order and
 * sorting, so `npm install` later rewrites little.
 * @param {string} text PPTist's package-lock.json
 * @param {Lock} ours this package's parsed package-lock.json
 * @param {Record<string, string>} add package name → version range (as in package.json)
 * @returns {{ text: string, added: string[] }} the new lock and the `packages` keys it added
 * @throws {LockError} a v1 lock, or a package our lock does not have
 */
export function editPackageLock(text, ours, add) {
  if (Object.keys(add).length === 0) return { text, added: [] }
  /** @type {Lock} */
  const lock = JSON.parse(text)
  const ourPackages = ours.packages ?? {}
  if (!lock.packages || !lock.packages['']) {
    throw new LockError(`package-lock.json is lockfileVersion ${lock.lockfileVersion ?? '?'} (no "packages" section); run \`npm install\` once with npm ≥ 7 to upgrade it`)
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const indent = /^[{[]\r?\n([ \t]+)/.exec(text)?.[1] ?? '  '
  const packages = lock.packages
  const registry = registryOf(lock)
  const withLicense = Object.values(packages).some(p => 'license' in p)

  const root = packages['']
  const rootDeps = root.dependencies ?? {}
  root.dependencies = isSorted(Object.keys(rootDeps))
    ? /** @type {Record<string, string>} */ (sortKeys({ ...rootDeps, ...add }))
    : { ...rootDeps, ...add }

  /** @type {string[]} */
  const added = []
  // [name, where it is required from in PPTist's tree, where in ours]
  /** @type {[string, string, string][]} */
  const queue = Object.keys(add).map(name => [name, '', ''])
  while (queue.length) {
    const [name, from, ourFrom] = /** @type {[string, string, string]} */ (queue.shift())
    const ourPath = resolveIn(ourPackages, ourFrom, name)
    const source = ourPath ? ourPackages[ourPath] : undefined
    if (!ourPath || !source?.version) throw new LockError(`this package's package-lock.json has no entry for ${name} (run npm install here first)`)
    const found = resolveIn(packages, from, name)
    if (found && packages[found].version === source.version) {
      promote(lock, found)
      continue
    }
    if (found && !packages[found].version) throw new LockError(`${found} in package-lock.json has no version`)
    const at = found ? child(from, name) : child('', name)
    if (packages[at]) {
      throw new LockError(`PPTist's lock has ${name}@${packages[at].version} at ${at}; the extension needs ${name}@${source.version} there`)
    }
    /** @type {LockPackage} */
    const entry = { version: source.version, resolved: tarballUrl(registry, name, source.version), integrity: source.integrity }
    for (const [key, value] of Object.entries(source)) {
      if (['version', 'resolved', 'integrity', 'dev', 'optional', 'devOptional', 'peer', 'link'].includes(key)) continue
      if (key === 'license' && !withLicense) continue
      entry[key] = value
    }
    packages[at] = entry
    added.push(at)
    const peersNeeded = Object.keys(source.peerDependencies ?? {}).filter(p => !source.peerDependenciesMeta?.[p]?.optional)
    for (const dep of [...Object.keys(source.dependencies ?? {}), ...Object.keys(source.optionalDependencies ?? {}), ...peersNeeded]) {
      if (peersNeeded.includes(dep) && resolveIn(packages, at, dep)) continue // PPTist provides the peer (vue)
      queue.push([dep, at, ourPath])
    }

    if (lock.dependencies) {
      const place = legacyAt(lock, at, true)
      if (!place) throw new LockError(`cannot place ${at} in the lock's legacy "dependencies" tree`)
      /** @type {LegacyEntry} */
      const legacy = { version: source.version, resolved: entry.resolved, integrity: source.integrity }
      const requires = { ...source.dependencies, ...source.optionalDependencies }
      if (Object.keys(requires).length) legacy.requires = requires
      place.level[place.name] = legacy
    }
  }

  lock.packages = { '': root, ...sortKeys(Object.fromEntries(Object.entries(packages).filter(([k]) => k !== ''))) }
  if (lock.dependencies) sortLegacy(lock.dependencies)
  return { text: JSON.stringify(lock, null, indent).replace(/\n/g, eol) + (/\r?\n$/.test(text) ? eol : ''), added }
}

const FLAGS = ['dev', 'devOptional', 'optional']

/**
 * A package PPTist already has, now needed by a production dependency: drop its dev/optional flags,
 * and those of what it needs (as PPTist's own tree resolves it), in both sections of the lock.
 * @param {Lock} lock @param {string} path
 */
function promote(lock, path) {
  const packages = /** @type {Record<string, LockPackage>} */ (lock.packages)
  const entry = packages[path]
  if (!FLAGS.some(flag => entry[flag])) return
  for (const flag of FLAGS) delete entry[flag]
  const legacy = lock.dependencies ? legacyAt(lock, path, false)?.entry : undefined
  if (legacy) for (const flag of FLAGS) delete legacy[flag]
  for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
    const at = resolveIn(packages, path, dep)
    if (at) promote(lock, at)
  }
}

/** Sorts a legacy tree's keys in place at every level. @param {Record<string, LegacyEntry>} level */
function sortLegacy(level) {
  const sorted = sortKeys(level)
  for (const key of Object.keys(level)) delete level[key]
  Object.assign(level, sorted)
  for (const entry of Object.values(level)) if (entry.dependencies) sortLegacy(entry.dependencies)
}
