import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';

/**
 * Requests Node's HTTP parser refuses before a request exists, so before
 * Fastify's error handler (or the gateway's) could answer: oversized headers,
 * a header timeout, bytes that are not HTTP. Node's and Fastify's defaults
 * answer in their own shape; these get the API's error body.
 */

interface ClientErrorAnswer {
  status: number;
  text: string;
  code: ErrorCode;
  description: string;
}

const ANSWERS: Record<string, ClientErrorAnswer> = {
  HPE_HEADER_OVERFLOW: { status: 431, text: 'Request Header Fields Too Large', code: 'invalid_request', description: 'The request headers are too large.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, text: 'Request Timeout', code: 'invalid_request', description: 'The request was not received in time.' },
};
const MALFORMED: ClientErrorAnswer = { status: 400, text: 'Bad Request', code: 'invalid_request', description: 'The request is not valid HTTP.' };

type ClientErrorLog = { debug(obj: object, msg: string): void };

/**
 * A `clientError` listener (Fastify's `clientErrorHandler`) that answers, then closes the connection,
 * as Node's default does. `headers` are added to the answer (the X-Meridian-Region every response has).
 */
export function clientErrorResponder(log: ClientErrorLog, headers: Record<string, string> = {}): (err: Error & { code?: string }, socket: Duplex) => void {
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const answer = (err.code && ANSWERS[err.code]) || MALFORMED;
    log.debug({ code: err.code, status: answer.status }, 'client error');
    // Not in the middle of a response already under way on this connection: that would corrupt it.
    const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !current?.headersSent) {
      const body = JSON.stringify({ error: answer.code, error_description: answer.description });
      socket.write(
        `HTTP/1.1 ${answer.status} ${answer.text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `${extra}Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(err);
  };
}
