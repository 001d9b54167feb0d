/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** where the proxy runs (no /api/v1); empty or unset means the page's own origin */
  readonly VITE_NANO_BANANA_SERVER?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
