/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** where the proxy runs (no /api/v1); empty or unset means the page's own origin */
  readonly VITE_NANO_BANANA_SERVER?: string
  /** the proxy's PROXY_TOKEN, if it has one (it ends up in the page: not a secret) */
  readonly VITE_NANO_BANANA_TOKEN?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
