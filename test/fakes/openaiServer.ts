// Fake OpenAI-compatible upstream on 127.0.0.1: chat relays (upstream.md §2) and the Images API (§3).
//
//   const fake = await startFakeOpenAI({ shape: 'markdown_data', validKey: 'sk-test', latencyMs: [50, 150] })
//   baseUrl = `${fake.url}/v1`   (any prefix works: routes match on the path's end)
//   fake.stats, fake.lastRequests (body = parsed JSON, or { fields, files } for multipart), await fake.close()
//
// Routes:
//   POST …/chat/completions    image in the chosen `shape` (sized from image_config aspect_ratio × image_size)
//   POST …/images/generations  JSON { prompt, size: 'WxH' | 'auto', … } → { data: [{ b64_json }] }
//   POST …/images/edits        multipart with image[] files → { data: [{ b64_json }] }
//   GET  /files/{W}x{H}.png|jpg  an image (what URL shapes link to); GET /files/huge.png streams `hugeBytes`
//
// Options:
//   shape        where the chat answer puts the image (ChatShape, default 'openrouter')
//   fileBaseUrl  base of links in URL shapes (default: this server) — point it at a second fake
//   filePath     override the linked path (e.g. '/files/huge.png' for size-cap tests)
//   hugeBytes    size of /files/huge.png (default 40 MB, streamed in chunks)
//   latencyMs, faultRate, faults, seed, script  as in the Gemini fake
//   validKey     when set, other Bearer keys → 401 invalid_api_key whose message ECHOES the key
//                (deliberately, so tests prove the provider redacts it)
//   retryAfter   Retry-After header value of '429' / '503' faults (default '1')
//   maxRandomFaults  at most this many random faults per prompt (same page's retries), then success —
//                 e.g. 3 with MAX_RETRIES=3 makes "every page completes" independent of luck
// Faults: see OpenAIFault. Default random faults: ['429', '503', '500', 'truncated', 'no_image', 'garbage'].
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fakeImage, slideImageSize } from './images.js'
import {
  FaultPicker, countFault, pickLatency, promptKeyOf, sendGarbage, sendJson, sendStalled, sendTruncated, startFakeHttp, waitOrGone,
  type FakeServer, type Latency,
} from './common.js'

export type { FakeServer, FakeStats, RecordedRequest } from './common.js'

export type ChatShape =
  | 'openrouter' // 1. message.images[].image_url.url data URL (content is text)
  | 'content_image_url' // 2a. content parts [{type:'text'}, {type:'image_url', image_url:{url:data URL}}]
  | 'content_image_b64' // 2b. content parts [{type:'image', image:{base64}}]
  | 'markdown_data' // 3a. content string with ![image](data:image/png;base64,…)
  | 'markdown_url' // 3b. content string with ![image](http://…/files/WxH.png)
  | 'plain_url' // 4. content string holding a plain http URL
  | 'images_api' // 5. { data: [{ b64_json }] }
  | 'bare_data_wrapped' // content string with a bare data URL whose base64 is wrapped at 76 characters
  | 'event_stream' // text/event-stream chat.completion.chunk events although no stream was asked for; the image in a later chunk
  | 'event_stream_unreadable' // text/event-stream whose data lines are not JSON

export type OpenAIFault =
  | '429' // rate_limit_exceeded with Retry-After
  | '500' | '503' // 503 with Retry-After
  | '400' // invalid_request_error
  | '404' // model_not_found
  | 'insufficient_quota' // 429 insufficient_quota (billing)
  | 'truncated' | 'garbage'
  | 'no_image' // 200 chat answer with text only (images: data without b64_json)
  | 'safety' // chat: finish_reason content_filter + native IMAGE_SAFETY; images: 400 moderation_blocked
  | 'error_in_200' // HTTP 200 with { error: { code: 429, message } } (OpenRouter style)
  | '403_moderation' // OpenRouter moderation: 403 with error.metadata.reasons and flagged_input
  | 'jpeg_as_png' // success, JPEG bytes in a data:image/png URL
  | 'hang'
  | 'stall' // 200 headers and half the body, then nothing

export interface FakeOpenAIOptions {
  shape?: ChatShape
  fileBaseUrl?: string
  filePath?: string
  hugeBytes?: number
  latencyMs?: Latency
  faultRate?: number
  faults?: OpenAIFault[]
  seed?: number
  script?: (reqIndex: number, body: unknown) => OpenAIFault | null | undefined
  validKey?: string
  retryAfter?: string
  maxRandomFaults?: number
  /** Images API: answer data[0].url = '/files/WxH.png' (a path on this server) instead of b64_json */
  imagesRelativeUrl?: boolean
}

const DEFAULT_FAULTS: OpenAIFault[] = ['429', '503', '500', 'truncated', 'no_image', 'garbage']

function openAIError(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } }
}

async function parseMultipart(req: IncomingMessage, raw: Buffer): Promise<{ fields: Record<string, string>; files: Array<{ field: string; name: string; type: string; size: number }> }> {
  const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': String(req.headers['content-type']) } }).formData()
  const fields: Record<string, string> = {}
  const files: Array<{ field: string; name: string; type: string; size: number }> = []
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') fields[field] = value
    else files.push({ field, name: value.name, type: value.type, size: value.size })
  }
  return { fields, files }
}

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeServer> {
  const picker = new FaultPicker({ seed: opts.seed ?? 1, faultRate: opts.faultRate ?? 0, faults: opts.faults ?? DEFAULT_FAULTS, script: opts.script, maxRandomFaults: opts.maxRandomFaults })
  const random = () => picker.next()
  const shape = opts.shape ?? 'openrouter'
  let index = 0

  const fake = await startFakeHttp(async (req, res, raw, record) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'GET' && path.startsWith('/files/')) return serveFile(res, path, opts.hugeBytes ?? 40 * 1024 * 1024, fake.stats)
    const kind = path.endsWith('/chat/completions') ? 'chat' : path.endsWith('/images/generations') ? 'generations' : path.endsWith('/images/edits') ? 'edits' : null
    if (req.method !== 'POST' || !kind) {
      countFault(fake.stats, 'not_found')
      return sendJson(res, 404, openAIError(`Invalid URL (${req.method} ${path})`, 'invalid_request_error', null))
    }
    const reqIndex = index++
    let body: Record<string, unknown>
    try {
      body = kind === 'edits' ? await parseMultipart(req, raw) : JSON.parse(raw.toString('utf8')) as Record<string, unknown>
      record.body = body
    }
    catch {
      countFault(fake.stats, 'bad_request')
      return sendJson(res, 400, openAIError('We could not parse the JSON body of your request.', 'invalid_request_error', null))
    }
    const fault = picker.pick(reqIndex, body, promptKeyOf(body))
    const latency = pickLatency(opts.latencyMs, random)

    const auth = String(req.headers.authorization ?? '')
    if (opts.validKey !== undefined && auth !== `Bearer ${opts.validKey}`) {
      countFault(fake.stats, 'bad_key')
      const given = auth.replace(/^Bearer\s+/i, '')
      return sendJson(res, 401, openAIError(`Incorrect API key provided: ${given}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key'))
    }
    countFault(fake.stats, fault)
    if (fault === 'hang') return
    if (!(await waitOrGone(latency, res))) return
    const base = opts.fileBaseUrl ?? fake.url
    if (kind === 'chat') return answerChat(res, fault, body, shape, base, opts)
    return answerImages(res, fault, kind === 'edits' ? (body.fields as Record<string, string>) : body, kind, opts)
  })

  return { url: fake.url, close: fake.close, stats: fake.stats, lastRequests: fake.lastRequests }
}

async function serveFile(res: ServerResponse, path: string, hugeBytes: number, stats: FakeServer['stats']): Promise<void> {
  if (path === '/files/huge.png') {
    countFault(stats, 'file_huge')
    res.writeHead(200, { 'content-type': 'image/png' }) // chunked, no length: the client must count
    const chunk = Buffer.alloc(64 * 1024, 0)
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(chunk)
    let sent = 0
    const pump = () => {
      while (sent < hugeBytes && !res.destroyed) {
        sent += chunk.length
        if (!res.write(chunk)) { res.once('drain', pump); return }
      }
      if (!res.destroyed) res.end()
    }
    pump()
    return
  }
  const match = /^\/files\/(\d+)x(\d+)\.(png|jpg)$/.exec(path)
  if (!match) {
    countFault(stats, 'file_missing')
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('Not Found')
    return
  }
  countFault(stats, 'file')
  const bytes = await fakeImage(Number(match[1]), Number(match[2]), match[3] === 'jpg' ? 'jpeg' : 'png')
  res.writeHead(200, { 'content-type': match[3] === 'jpg' ? 'image/jpeg' : 'image/png', 'content-length': bytes.length })
  res.end(bytes)
}

function commonFault(res: ServerResponse, fault: OpenAIFault | 'ok', retryAfter: string): boolean {
  switch (fault) {
    case '429':
      sendJson(res, 429, openAIError('Rate limit reached for requests. Please try again later.', 'requests', 'rate_limit_exceeded'), { 'retry-after': retryAfter })
      return true
    case 'insufficient_quota':
      sendJson(res, 429, openAIError('You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'))
      return true
    case '500':
      sendJson(res, 500, openAIError('The server had an error while processing your request. Sorry about that!', 'server_error', null))
      return true
    case '503':
      sendJson(res, 503, openAIError('The engine is currently overloaded, please try again later.', 'server_error', null), { 'retry-after': retryAfter })
      return true
    case '400':
      sendJson(res, 400, openAIError('Invalid value for \'size\'.', 'invalid_request_error', 'invalid_value'))
      return true
    case '404':
      sendJson(res, 404, openAIError('The model does not exist or you do not have access to it.', 'invalid_request_error', 'model_not_found'))
      return true
    case 'garbage':
      sendGarbage(res)
      return true
    case '403_moderation':
      sendJson(res, 403, { error: { code: 403, message: 'Input was flagged by moderation', metadata: { reasons: ['violence', 'harassment'], flagged_input: 'a slide about…', provider_name: 'Google', model_slug: 'google/gemini-3-pro-image' } } })
      return true
    case 'error_in_200':
      sendJson(res, 200, { error: { code: 429, message: 'Provider returned error: rate limited upstream', metadata: { provider_name: 'Google' } } })
      return true
    default:
      return false
  }
}

async function answerChat(res: ServerResponse, fault: OpenAIFault | 'ok', body: Record<string, unknown>, shape: ChatShape, fileBase: string, opts: FakeOpenAIOptions): Promise<void> {
  if (commonFault(res, fault, opts.retryAfter ?? '1')) return
  const model = String(body.model ?? 'unknown')
  const envelope = (message: Record<string, unknown>, finish = 'stop', native = 'STOP') => ({
    id: 'gen-fake', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model, provider: 'Google',
    choices: [{ index: 0, logprobs: null, finish_reason: finish, native_finish_reason: native, message: { role: 'assistant', ...message } }],
    usage: { prompt_tokens: 1400, completion_tokens: 1290, total_tokens: 2690 },
  })
  if (fault === 'no_image') return sendJson(res, 200, envelope({ content: 'I have designed the slide as requested.' }))
  if (fault === 'safety') return sendJson(res, 200, envelope({ content: 'I can\'t create that image.' }, 'content_filter', 'IMAGE_SAFETY'))

  const config = (body.image_config ?? {}) as { aspect_ratio?: string; image_size?: string }
  const { width, height } = slideImageSize(config.aspect_ratio ?? '1:1', config.image_size ?? '1K')
  const jpeg = fault === 'jpeg_as_png'
  const bytes = await fakeImage(width, height, jpeg ? 'jpeg' : 'png')
  const b64 = bytes.toString('base64')
  const dataUrl = `data:image/png;base64,${b64}` // JPEG bytes stay labelled png on purpose for jpeg_as_png
  const link = `${fileBase}${opts.filePath ?? `/files/${width}x${height}.${jpeg ? 'jpg' : 'png'}`}`
  let answer: unknown
  switch (shape) {
    case 'openrouter':
      answer = envelope({ content: 'Here is your slide.', images: [{ type: 'image_url', image_url: { url: dataUrl }, index: 0 }] })
      break
    case 'content_image_url':
      answer = envelope({ content: [{ type: 'text', text: 'Here is your slide.' }, { type: 'image_url', image_url: { url: dataUrl } }] })
      break
    case 'content_image_b64':
      answer = envelope({ content: [{ type: 'text', text: 'Here is your slide.' }, { type: 'image', image: { base64: b64, mime_type: 'image/png' } }] })
      break
    case 'markdown_data':
      answer = envelope({ content: `Here is your slide.\n\n![image](${dataUrl})` })
      break
    case 'markdown_url':
      answer = envelope({ content: `Here is your slide.\n\n![image](${link})` })
      break
    case 'plain_url':
      answer = envelope({ content: `${link}` })
      break
    case 'images_api':
      answer = { created: Math.floor(Date.now() / 1000), data: [{ b64_json: b64 }] }
      break
    case 'bare_data_wrapped':
      answer = envelope({ content: `Here is your slide:\n${`data:image/png;base64,${b64}`.replace(/(.{76})/g, '$1\n')}\nEnjoy!` })
      break
    case 'event_stream':
    case 'event_stream_unreadable': {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
      const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({
        id: 'gen-fake', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model, provider: 'Google',
        choices: [{ index: 0, delta, finish_reason: finish, native_finish_reason: finish ? 'STOP' : null }],
      })}\n\n`
      const events = shape === 'event_stream'
        ? [': OPENROUTER PROCESSING\n\n', chunk({ role: 'assistant', content: '' }), chunk({ content: 'Here is ' }), chunk({ content: 'your slide.' }),
          chunk({ images: [{ type: 'image_url', image_url: { url: dataUrl }, index: 0 }] }), chunk({}, 'stop'), 'data: [DONE]\n\n']
        : ['data: <<stream started>>\n\n', 'data: partial-image-7f3a\n\n', 'data: [DONE]\n\n']
      for (const e of events) res.write(e)
      res.end()
      return
    }
  }
  if (fault === 'truncated') return sendTruncated(res, answer)
  if (fault === 'stall') return sendStalled(res, answer)
  return sendJson(res, 200, answer)
}

async function answerImages(res: ServerResponse, fault: OpenAIFault | 'ok', body: Record<string, unknown>, kind: 'generations' | 'edits', opts: FakeOpenAIOptions): Promise<void> {
  if (fault === 'safety') {
    return sendJson(res, 400, openAIError('Your request was rejected as a result of our safety system. Your request may contain content that is not allowed by our safety system.', 'image_generation_user_error', 'moderation_blocked'))
  }
  if (commonFault(res, fault, opts.retryAfter ?? '1')) return
  const created = Math.floor(Date.now() / 1000)
  if (fault === 'no_image') return sendJson(res, 200, { created, data: [{ revised_prompt: 'a slide' }] })
  const size = /^(\d+)x(\d+)$/.exec(String(body.size ?? ''))
  const [width, height] = size ? [Number(size[1]), Number(size[2])] : [1024, 1024]
  const bytes = await fakeImage(width, height, fault === 'jpeg_as_png' ? 'jpeg' : 'png')
  const answer = {
    created,
    data: [opts.imagesRelativeUrl ? { url: `/files/${width}x${height}.png` } : { b64_json: bytes.toString('base64') }],
    usage: { total_tokens: 4200, input_tokens: kind === 'edits' ? 1500 : 50, output_tokens: 4160 },
  }
  if (fault === 'truncated') return sendTruncated(res, answer)
  if (fault === 'stall') return sendStalled(res, answer)
  return sendJson(res, 200, answer)
}
