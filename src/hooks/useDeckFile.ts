import { storeToRefs } from 'pinia'
import { useSlidesStore, useSnapshotStore } from '../store'
import type { PPTistDeckFile, Slide } from '../types/slides'

// PPTist's JSON export: { title, width, height, theme, slides } (useExport.ts → exportJSON).
// Older exports and hand-made files are sometimes a bare slide array; accept that too.
export function parseDeckFile(raw: string): PPTistDeckFile {
  const data: unknown = JSON.parse(raw)
  const file: Partial<PPTistDeckFile> = Array.isArray(data) ? { slides: data as Slide[] } : (data as Partial<PPTistDeckFile>)
  const slides = file?.slides
  if (!Array.isArray(slides) || !slides.length) throw new Error('no slides')
  for (const slide of slides) {
    if (!slide || typeof slide.id !== 'string' || !Array.isArray(slide.elements)) throw new Error('not a PPTist slide')
  }
  return { ...file, slides }
}

export function useDeckFile() {
  const slidesStore = useSlidesStore()
  const snapshotStore = useSnapshotStore()
  const { title, slides, theme, viewportSize, viewportRatio } = storeToRefs(slidesStore)

  // Replaces the deck like PPTist's "import JSON" on an empty deck, as one undoable step.
  async function importDeck(file: File): Promise<void> {
    const deck = parseDeckFile(await file.text())
    slidesStore.updateSlideIndex(0)
    slidesStore.setSlides(deck.slides, deck.theme ?? {})
    if (deck.title) slidesStore.setTitle(deck.title)
    if (deck.width && deck.height) {
      slidesStore.setViewportSize(deck.width)
      slidesStore.setViewportRatio(deck.height / deck.width)
    }
    await snapshotStore.addSnapshot()
  }

  function deckJson(): string {
    const deck: PPTistDeckFile = {
      title: title.value,
      width: viewportSize.value,
      height: viewportSize.value * viewportRatio.value,
      theme: theme.value,
      slides: slides.value,
    }
    return JSON.stringify(deck)
  }

  function exportDeck(): void {
    const url = URL.createObjectURL(new Blob([deckJson()], { type: 'application/json' }))
    const link = document.createElement('a')
    link.href = url
    link.download = `${title.value}.json`
    link.click()
    setTimeout(() => URL.revokeObjectURL(url), 1000)
  }

  return { importDeck, exportDeck, deckJson }
}
