// Compiled by pptistTypes.test.ts only: a DOM property newer than TypeScript 5.3's lib.
export function high(img: HTMLImageElement): void {
  img.fetchPriority = 'high'
}
