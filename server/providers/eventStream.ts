// Relays that answer an ordinary (non-streaming) chat request with Server-Sent Events anyway:
// `text/event-stream`, `data: {chat.completion.chunk}` lines, the image in a later chunk, `data: [DONE]`.
// assembleChatStream() folds the chunks back into one chat completion, so the usual image search
// (findChatImage) applies; an error chunk is returned as the error body it is.
import { isRecord } from './errors.js'

/** True when a response is an event stream (by content type, or a body that starts like one). */
export function looksLikeEventStream(contentType: string | null, text: string): boolean {
  if (contentType && /text\/event-stream/i.test(contentType)) return true
  return /^\s*(?::[^\n]*\n\s*)*(data|event|id):/.test(text.slice(0, 200))
}

type Json = Record<string, unknown>

/** The `data:` payloads of an event stream, one per event (multi-line data joined with \n). */
export function eventData(text: string): string[] {
  const out: string[] = []
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n\n+/)) {
    const lines = block.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).replace(/^ /, ''))
    if (lines.length) out.push(lines.join('\n'))
  }
  return out
}

/**
 * Chunks of a chat completion stream → one chat completion:
 * `{ choices: [{ message: { role, content, images }, finish_reason, native_finish_reason }] }`.
 * String content deltas are concatenated; array content parts and `images` are collected; a chunk
 * carrying `error` (and no choices) is returned as is. Null when no chunk is a JSON object.
 */
export function assembleChatStream(text: string): Json | null {
  let parsedAny = false
  let content = ''
  const parts: unknown[] = []
  const images: unknown[] = []
  let finish: unknown
  let native: unknown
  let model: unknown
  let data: unknown
  for (const payload of eventData(text)) {
    if (payload.trim() === '[DONE]') continue
    let chunk: unknown
    try {
      chunk = JSON.parse(payload)
    }
    catch {
      continue
    }
    if (!isRecord(chunk)) continue
    parsedAny = true
    if (chunk.error && !chunk.choices) return chunk
    model ??= chunk.model
    if (Array.isArray(chunk.data)) data = chunk.data
    const choice = Array.isArray(chunk.choices) && isRecord(chunk.choices[0]) ? chunk.choices[0] : undefined
    if (!choice) continue
    const delta = isRecord(choice.delta) ? choice.delta : isRecord(choice.message) ? choice.message : {}
    if (typeof delta.content === 'string') content += delta.content
    else if (Array.isArray(delta.content)) parts.push(...delta.content)
    if (Array.isArray(delta.images)) images.push(...delta.images)
    if (choice.finish_reason) finish = choice.finish_reason
    if (choice.native_finish_reason) native = choice.native_finish_reason
  }
  if (!parsedAny) return null
  const message: Json = { role: 'assistant', content: parts.length ? [...(content ? [{ type: 'text', text: content }] : []), ...parts] : content }
  if (images.length) message.images = images
  return {
    object: 'chat.completion', model,
    choices: [{ index: 0, message, finish_reason: finish ?? null, native_finish_reason: native ?? null }],
    ...(data ? { data } : {}),
  }
}
