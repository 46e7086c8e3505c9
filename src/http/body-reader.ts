import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { AppError } from '../errors/app-error.ts';

/**
 * Reads a request's whole body, refusing more than `limitBytes`: AppError PAYLOAD_TOO_LARGE as
 * soon as `Content-Length` or the bytes received pass the limit (nothing is buffered past it), and
 * ClientAbort when the client goes away before the body ends. Each runtime has its own reader;
 * createApp is given the one of its entry point.
 */
export type BodyReader = (c: Context, limitBytes: number) => Promise<Uint8Array>;

/** The client went away (reset, closed) before its request body ended: not a fault of ours. */
export class ClientAbort extends Error {
  override name = 'ClientAbort';
}

function declaredTooLarge(contentLength: string | undefined, limitBytes: number): boolean {
  return contentLength !== undefined && Number(contentLength) > limitBytes;
}

/** The body of the web Request (Lambda, app.request), read through its stream. */
export const readWebBody: BodyReader = async (c, limitBytes) => {
  if (declaredTooLarge(c.req.header('content-length'), limitBytes)) throw new AppError('PAYLOAD_TOO_LARGE');
  const stream = c.req.raw.body;
  if (stream === null) return new Uint8Array(0);
  const reader = (stream as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const step = await reader.read().catch((err: unknown) => {
      throw new ClientAbort('the request body ended early', { cause: err });
    });
    if (step.done) break;
    const chunk = step.value;
    size += chunk.byteLength;
    if (size > limitBytes) {
      await reader.cancel();
      throw new AppError('PAYLOAD_TOO_LARGE');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
};

/**
 * The body of a Node request, read off the IncomingMessage. Past the limit the rest is discarded
 * as it arrives (the stream is resumed with no reader), so the response can go out and the
 * keep-alive connection serve the client's next request; the server's request timeout bounds how
 * long a client can keep sending.
 */
export function readNodeBody(incoming: IncomingMessage, limitBytes: number): Promise<Uint8Array> {
  if (declaredTooLarge(incoming.headers['content-length'], limitBytes)) return Promise.reject(new AppError('PAYLOAD_TOO_LARGE'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        stop();
        incoming.resume();
        reject(new AppError('PAYLOAD_TOO_LARGE'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onAbort = (err?: Error) => {
      stop();
      reject(new ClientAbort('the request body ended early', { cause: err }));
    };
    const stop = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onAbort);
      incoming.off('close', onAbort);
    };
    if (incoming.readableEnded) {
      resolve(new Uint8Array(0));
      return;
    }
    if (incoming.destroyed) {
      onAbort();
      return;
    }
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onAbort);
    incoming.on('close', onAbort);
  });
}
