// Errors in the api.md shape: {"error":{"code","message","details"}} with a fitting status.
// Nothing here ever sends a stack trace; unexpected errors become a plain 500 and a log line.
import type { ErrorRequestHandler, Response } from 'express'
import { z } from 'zod'
import type { ApiErrorBody } from '../plugin/types/api.js'
import type { Logger } from './logger.js'

export interface ErrorDetail {
  path: string
  message: string
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: unknown[]
  readonly headers: Record<string, string>

  constructor(status: number, code: string, message: string, opts: { details?: unknown[]; headers?: Record<string, string> } = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = opts.details ?? []
    this.headers = opts.headers ?? {}
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`)

export function zodDetails(err: z.ZodError): ErrorDetail[] {
  return err.issues.map(issue => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: issue.message,
  }))
}

export function validationError(err: z.ZodError, message = 'The request is not valid'): ApiError {
  return new ApiError(400, 'invalid_request', message, { details: zodDetails(err) })
}

export function sendError(res: Response, err: ApiError): void {
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v)
  const body: ApiErrorBody = { error: { code: err.code, message: err.message, details: err.details } }
  res.status(err.status).json(body)
}

interface BodyParserError {
  type?: string
  status?: number
}

/** Maps anything thrown in a route to the api.md error shape. */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.end()
      return
    }
    if (err instanceof ApiError) return sendError(res, err)
    if (err instanceof z.ZodError) return sendError(res, validationError(err))
    const bp = err as BodyParserError
    if (bp && typeof bp === 'object') {
      if (bp.type === 'entity.too.large') return sendError(res, new ApiError(413, 'payload_too_large', 'The request body is larger than 1 MB'))
      if (bp.type === 'entity.parse.failed') return sendError(res, new ApiError(400, 'invalid_json', 'The request body is not valid JSON'))
      if (bp.type === 'encoding.unsupported' || bp.type === 'charset.unsupported') {
        return sendError(res, new ApiError(415, 'unsupported_encoding', 'The request body encoding is not supported'))
      }
      if (typeof bp.status === 'number' && bp.status >= 400 && bp.status < 500) {
        return sendError(res, new ApiError(bp.status, 'bad_request', 'The request could not be read'))
      }
    }
    logger.error('unhandled error', { method: req.method, path: req.path, error: err instanceof Error ? err.message : String(err) })
    sendError(res, new ApiError(500, 'internal_error', 'Something went wrong on the proxy; see its log'))
  }
}
