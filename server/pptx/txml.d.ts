// Types for txml's parser entry ('txml/txml', the parser without its stream helper): the package ships
// them as dist/tXml.d.ts, which its "exports" map does not point to, so TypeScript cannot find them.
declare module 'txml/txml' {
  export interface tNode {
    tagName: string
    attributes: Record<string, string | null>
    children: (tNode | string)[]
  }
  export interface TParseOptions {
    pos?: number
    noChildNodes?: string[]
    setPos?: boolean
    keepComments?: boolean
    keepWhitespace?: boolean
    simplify?: boolean
  }
  /** Parses XML into nodes; no validation, some tolerance of broken input; entities are left encoded. */
  export function parse(S: string, options?: TParseOptions): (tNode | string)[]
}
