import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_APP_BINDINGS, startNodeServer, type NodeServerOptions } from '../src/entry/node-server.ts';
import { DOT_SEGMENT_PATHS } from './support/dot-segments.ts';
import { startTestApp, uniqueName, type TestApp } from './support/harness.ts';

/** The app of `t` behind the real Node server on an ephemeral port. */
async function listen(t: TestApp, options: Partial<NodeServerOptions> = {}): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = startNodeServer(t.app, 0, options, (port) => {
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    }) as Server;
  });
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a raw connection saw: the responses parsed off the wire, and how the connection ended. */
interface Conversation {
  responses: RawResponse[];
  /** `end` for a FIN the client read after everything, `error:<code>` for a reset or other failure, `open` if neither. */
  ending: string;
}

/** Parses complete HTTP/1.1 responses (Content-Length or no body) from the front of `wire`. */
function parseResponses(wire: Buffer): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let rest = wire;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    if (status === 100) {
      rest = rest.subarray(end + 4);
      continue;
    }
    const length = Number(headers['content-length'] ?? 0);
    if (rest.length < end + 4 + length) break;
    responses.push({ status, headers, body: rest.subarray(end + 4, end + 4 + length).toString('utf8') });
    rest = rest.subarray(end + 4 + length);
  }
  return { responses, rest };
}

/**
 * Opens a raw connection, lets `script` write to it, and collects responses until `expected` have
 * arrived and the server stays quiet, or the connection ends.
 */
async function converse(
  port: number,
  expected: number,
  script: (socket: Socket, seen: () => number) => Promise<void> | void,
): Promise<Conversation> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let wire = Buffer.alloc(0);
  let ending = 'open';
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      wire = Buffer.concat([wire, chunk]);
      if (parseResponses(wire).responses.length >= expected) resolve();
    });
    socket.on('end', () => {
      ending = 'end';
      resolve();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      ending = `error:${err.code ?? err.message}`;
      resolve();
    });
  });
  await script(socket, () => parseResponses(wire).responses.length);
  await done;
  // A reset that follows the last response would still lose it for a client that reads later.
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  return { responses: parseResponses(wire).responses, ending };
}

const HEALTH = 'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n';

/** Either the next request was answered on the same connection, or the first said close and the socket ended cleanly. */
function expectUsableOrCleanlyClosed(talk: Conversation, firstStatus: number) {
  expect(talk.responses[0]?.status).toBe(firstStatus);
  if (talk.responses[0]?.headers.connection === 'close') {
    expect(talk.ending).toBe('end');
    expect(talk.responses).toHaveLength(1);
  } else {
    expect(talk.responses.map((r) => r.status)).toEqual([firstStatus, 200]);
    expect(talk.ending).not.toMatch(/^error/);
  }
}

describe('responses decided before the body is read leave the connection usable or close it cleanly', () => {
  let t: TestApp;
  let server: { port: number; close: () => Promise<void> };
  let token: string;
  beforeAll(async () => {
    t = await startTestApp({ BODY_LIMIT_BYTES: '1024' }, {}, { readBody: NODE_APP_BINDINGS.readBody });
    server = await listen(t);
    token = (await t.newUser()).token;
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  const big = JSON.stringify({ title: 'x'.repeat(200_000) });

  it('413 from Content-Length, with the body sent in full, then a second request', async () => {
    const talk = await converse(server.port, 2, (s) => {
      s.write(
        `POST /api/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`,
      );
      s.write(big);
      s.write(HEALTH);
    });
    expectUsableOrCleanlyClosed(talk, 413);
    expect(JSON.parse(talk.responses[0]!.body).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('413 while reading a chunked body, then a second request', async () => {
    const talk = await converse(server.port, 2, (s) => {
      s.write(
        `POST /api/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      for (let i = 0; i < big.length; i += 4096) {
        const part = big.slice(i, i + 4096);
        s.write(`${part.length.toString(16)}\r\n${part}\r\n`);
      }
      s.write('0\r\n\r\n');
      s.write(HEALTH);
    });
    expectUsableOrCleanlyClosed(talk, 413);
  });

  it.each([
    ['415 for a text body', 'POST /api/projects', 'Content-Type: text/plain', 415],
    ['401 for a POST without a session', 'POST /api/projects', 'Content-Type: application/json', 401],
    ['404 for an unknown route with a body', 'POST /api/nothing-here', 'Content-Type: application/json', 404],
    ['405 for a known path, wrong method, with a body', 'PUT /api/projects', 'Content-Type: application/json', 405],
  ])('%s, then a second request', async (_name, requestLine, header, status) => {
    const body = JSON.stringify({ title: 'y'.repeat(100_000) });
    const auth = status === 401 ? '' : `Authorization: Bearer ${token}\r\n`;
    const talk = await converse(server.port, 2, (s) => {
      s.write(`${requestLine} HTTP/1.1\r\nHost: localhost\r\n${auth}${header}\r\nContent-Length: ${body.length}\r\n\r\n${body}${HEALTH}`);
    });
    expectUsableOrCleanlyClosed(talk, status);
  });
});

describe('request bodies the server cannot take as they are', () => {
  let t: TestApp;
  let server: { port: number; close: () => Promise<void> };
  let token: string;
  beforeAll(async () => {
    t = await startTestApp({}, {}, { readBody: NODE_APP_BINDINGS.readBody });
    server = await listen(t);
    token = (await t.newUser()).token;
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  async function post(headers: string, body: Buffer): Promise<RawResponse> {
    const talk = await converse(server.port, 1, (s) => {
      s.write(
        `POST /api/projects HTTP/1.1\r\nHost: localhost\r\nAccept-Language: en\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n${headers}\r\n`,
      );
      s.write(body);
    });
    return talk.responses[0]!;
  }

  async function projectCount(): Promise<number> {
    const row = await t.db
      .selectFrom('projects')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it('a body that is not valid UTF-8 is 400 INVALID_JSON and stores nothing', async () => {
    const before = await projectCount();
    const bytes = Buffer.concat([Buffer.from('{"title":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const res = await post('Content-Type: application/json\r\n', bytes);
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body);
    expect(body.code).toBe('INVALID_JSON');
    expect(body.message).toBe('[Bad Request] The request body is not valid UTF-8.');
    expect(body.field).toBe('body');
    expect(await projectCount()).toBe(before);
  });

  it.each(['gzip', 'br', 'deflate, identity'])('Content-Encoding: %s is 415 and stores nothing', async (encoding) => {
    const before = await projectCount();
    const res = await post(
      `Content-Type: application/json\r\nContent-Encoding: ${encoding}\r\n`,
      Buffer.from(JSON.stringify({ title: uniqueName() })),
    );
    expect(res.status).toBe(415);
    const body = JSON.parse(res.body);
    expect(body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(body.message).toBe('[Unsupported Media Type] The request body must not be encoded (Content-Encoding: identity only).');
    expect(body.field).toBe('content-encoding');
    expect(await projectCount()).toBe(before);
  });

  it('Content-Encoding: identity is read as it is', async () => {
    const res = await post(
      'Content-Type: application/json\r\nContent-Encoding: identity\r\n',
      Buffer.from(JSON.stringify({ title: uniqueName() })),
    );
    expect(res.status).toBe(201);
  });

  it('a client that aborts its upload is logged at info as a client abort, never as an error or a 503', async () => {
    const before = t.logs.length;
    const socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /api/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title":"half`,
    );
    // Give the app time to start reading the body, then reset the connection mid-upload.
    await new Promise((r) => setTimeout(r, 300));
    socket.resetAndDestroy();
    const deadline = Date.now() + 10_000;
    while (!t.logs.slice(before).some((l) => l.msg === 'request') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lines = t.logs.slice(before);
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(lines.filter((l) => l.msg === 'client aborted the request').map((l) => l.level)).toEqual([30]);
    expect(lines.some((l) => l.status === 503)).toBe(false);
  });
});

describe('the header and whole-request timeouts hold', () => {
  let t: TestApp;
  let server: { port: number; close: () => Promise<void> };
  let token: string;
  const timeouts = { headersTimeout: 1_000, requestTimeout: 2_000 };
  // Generous for a loaded machine, and still far below Node's default 30 s check of both timeouts.
  const slack = 4_000;
  beforeAll(async () => {
    t = await startTestApp({}, {}, { readBody: NODE_APP_BINDINGS.readBody });
    server = await listen(t, timeouts);
    token = (await t.newUser()).token;
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  it('headers that never finish get 408 soon after the header timeout', async () => {
    const started = Date.now();
    const talk = await converse(server.port, 1, (s) => {
      s.write('POST /api/projects HTTP/1.1\r\nHost: localhost\r\n');
    });
    expect(talk.responses[0]?.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(timeouts.headersTimeout + slack);
  });

  it('a body that trickles in gets 408 soon after the request timeout, logged as a client abort', async () => {
    const before = t.logs.length;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const talk = await converse(server.port, 1, (s) => {
      s.write(
        `POST /api/projects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title":"`,
      );
      timer = setInterval(() => {
        if (s.writable) s.write('a');
      }, 100);
    });
    clearInterval(timer);
    expect(talk.responses[0]?.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(timeouts.requestTimeout + slack);
    const deadline = Date.now() + 5_000;
    while (!t.logs.slice(before).some((l) => l.msg === 'request') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(t.logs.slice(before).filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});

describe('what the request target says', () => {
  let t: TestApp;
  let server: { port: number; close: () => Promise<void> };
  let user: { username: string };
  let password: string;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp({}, {}, { readBody: NODE_APP_BINDINGS.readBody, requestPath: NODE_APP_BINDINGS.requestPath });
    server = await listen(t);
    ({ user, password, token } = await t.newUser());
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  it('an absolute-form https:// target over plain HTTP gets no HSTS and no Secure __Host- cookie', async () => {
    const body = JSON.stringify({ login: user.username, password });
    const talk = await converse(server.port, 1, (s) => {
      s.write(
        `POST https://localhost/api/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
    const res = talk.responses[0]!;
    expect(res.status).toBe(201);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['set-cookie']).toMatch(/^sid=/);
    expect(res.headers['set-cookie']).not.toMatch(/Secure/i);
  });

  // Node's adapter refuses a backslash in the path (400, no body) before the app sees the request.
  const backslashed = DOT_SEGMENT_PATHS.filter((p) => p.includes('\\'));
  const others = DOT_SEGMENT_PATHS.filter((p) => !p.includes('\\'));

  it('a backslash in the path is refused before routing (400), never read as a slash', async () => {
    expect(backslashed).toHaveLength(1);
    const talk = await converse(server.port, 1, (s) => {
      s.write(`GET ${backslashed[0]} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    });
    expect(talk.responses[0]!.status).toBe(400);
  });

  it.each([
    ...others,
    '/api/projects/..%2fusers/me',
    '/api/projects/%2e%2e%2Fusers/me',
    '/api/users/me/%2e?view=full',
    'http://localhost/api/projects/%2e%2e/users/me',
    'https://localhost/api/./users/me',
  ])('%s is a 404 NOT_FOUND_RESOURCE, never resolved into another route', async (target) => {
    const talk = await converse(server.port, 1, (s) => {
      s.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nAccept-Language: en\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    });
    const res = talk.responses[0]!;
    expect(res.status).toBe(404);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'Failed',
      code: 'NOT_FOUND_RESOURCE',
      message: '[Not Found] The requested resource was not found.',
    });
    expect(body.field).toBeUndefined();
  });

  it('the same routes without dot-segments answer, also in absolute-form, and dots in the query are not a path', async () => {
    for (const target of ['/api/users/me', '/api/projects', 'http://localhost/api/users/me', '/api/users/me?x=/../..']) {
      const talk = await converse(server.port, 1, (s) => {
        s.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      });
      expect(talk.responses[0]!.status, target).toBe(200);
    }
  });

  it('a cursor whose id is malformed is 400 naming the cursor, and logs no error', async () => {
    const before = t.logs.length;
    for (const id of ['-'.repeat(36), 'g'.repeat(36), '0'.repeat(36)]) {
      const cursor = Buffer.from(JSON.stringify(['2024-01-01T00:00:00.000Z', id])).toString('base64url');
      const res = await t.request('GET', `/api/projects?cursor=${cursor}`, { token });
      expect(res.status, id).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'cursor' });
    }
    expect(t.logs.slice(before).filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});
