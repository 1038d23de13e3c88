// Test helpers for HTTP: raw socket exchanges and a small response parser that checks
// framing strictly (so a response that overruns its Content-Length shows up as garbage).

import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  raw: string;
}

/** Splits a byte stream into responses; `bodyless[i]` says response i has no body (HEAD, 304). */
export function parseResponses(buf: Buffer, bodyless: boolean[] = []): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let off = 0;
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const head = buf.toString('latin1', off, end);
    const [statusLine, ...lines] = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine!);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const c = l.indexOf(':');
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    const status = Number(m[1]);
    const noBody = bodyless[responses.length] === true || status === 304 || status === 204;
    const len = noBody ? 0 : Number(headers['content-length'] ?? 0);
    if (end + 4 + len > buf.length) break;
    responses.push({ status, headers, body: buf.subarray(end + 4, end + 4 + len), raw: head });
    off = end + 4 + len;
  }
  return { responses, rest: buf.subarray(off) };
}

/**
 * Writes the pieces (with a pause between them), then reads until the server closes or
 * `timeoutMs` passes. Returns everything read and whether the server closed.
 */
export function exchange(port: number, pieces: Array<string | Buffer>, opts: { gapMs?: number; timeoutMs?: number; host?: string } = {}): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, opts.host ?? '127.0.0.1');
    let closed = false;
    const timer = setTimeout(() => { s.destroy(); finish(); }, opts.timeoutMs ?? 1500);
    const finish = (): void => { clearTimeout(timer); resolve({ data: Buffer.concat(chunks), closed }); };
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => { closed = true; });
    s.on('close', () => finish());
    s.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'ECONNRESET') reject(e); });
    s.on('connect', async () => {
      for (const p of pieces) {
        s.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}
