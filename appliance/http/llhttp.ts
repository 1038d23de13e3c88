// llhttp, the HTTP parser of record, bound without its package's wrapper: the same
// WebAssembly build of llhttp that llhttp-wasm ships, instantiated here with callbacks that
// only note where each span (the request-target, each field name and value) lies in the
// module's memory.
//
// Why not the wrapper: for every request it mallocs and frees the input, and turns the
// URL and every header name and value into a string through a new TextDecoder; under
// 100,000 requests/s that was a fifth of a worker's time. Here the input area is taken once
// per thread, spans stay offsets, and only the values the responder reads become strings
// (latin1: a field value is octets, RFC 9110 §5.5). The wasm is read from the installed
// package (its base64 string), so the parser is exactly the package's.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ApplianceError } from '../../basics/errors.js';

/** llhttp's parser types (llhttp.h: HTTP_BOTH 0, HTTP_REQUEST 1, HTTP_RESPONSE 2). */
const TYPE_REQUEST = 1;
/** llhttp_errno: HPE_OK, and HPE_PAUSED_UPGRADE (an Upgrade request: the head is whole). */
export const HPE_OK = 0;
export const HPE_PAUSED_UPGRADE = 22;

/** The input area: a whole head after bare LFs become CRLF (2x) and the target's high bytes %XX (3x). */
const INPUT_BYTES = 64 << 10;
/** Fields of one head at most: 8 KiB of "a:\r\n" lines. */
const MAX_FIELDS = 2100;

/** The WebAssembly API of Node (the DOM's types are not in this project's lib). */
const WASM = (globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (m: object, imports: object) => { exports: object } };
}).WebAssembly;

interface Exports {
  memory: { readonly buffer: ArrayBuffer };
  _initialize(): void;
  malloc(n: number): number;
  free(p: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(p: number): void;
  llhttp_reset(p: number): void;
  llhttp_execute(p: number, data: number, len: number): number;
  llhttp_get_http_major(p: number): number;
  llhttp_get_http_minor(p: number): number;
  llhttp_get_method(p: number): number;
  llhttp_should_keep_alive(p: number): number;
}

/** The parser whose execute() is running (calls are synchronous, one at a time per thread). */
let current: HeadParser | null = null;
let module: { ex: Exports; input: number } | undefined;

function wasmBytes(): Uint8Array {
  const require = createRequire(import.meta.url);
  let file: string;
  try {
    file = require.resolve('llhttp-wasm');
  } catch (e) {
    throw new ApplianceError('APPL_ERR_INSTALL', 'the llhttp-wasm package is not installed (npm ci)', { cause: e });
  }
  const m = /binaryString\s*=\s*"([A-Za-z0-9+/=]+)"/.exec(readFileSync(file, 'utf8'));
  if (!m) throw new ApplianceError('APPL_ERR_INSTALL', `${file}: llhttp's WebAssembly module not found (an llhttp-wasm other than 1.0.x?)`);
  return Buffer.from(m[1]!, 'base64');
}

function instance(): { ex: Exports; input: number } {
  if (module) return module;
  const span = (kind: number) => (_p: number, at: number, len: number): number => {
    current?.span(kind, at, len);
    return 0;
  };
  const inst = new WASM.Instance(new WASM.Module(wasmBytes()), {
    env: {
      wasm_on_message_begin: () => 0,
      wasm_on_url: span(0),
      wasm_on_status: () => 0,
      wasm_on_header_field: span(1),
      wasm_on_header_value: span(2),
      wasm_on_headers_complete: () => {
        current?.headersComplete();
        return 0;
      },
      wasm_on_body: () => 0,
      wasm_on_message_complete: () => 0,
    },
  });
  const ex = inst.exports as unknown as Exports;
  ex._initialize();
  module = { ex, input: ex.malloc(INPUT_BYTES) };
  return module;
}

/**
 * One llhttp request parser. load() a head into the module's memory, execute() it, then
 * read what it found: method, version, keep-alive, the target and the fields as spans of
 * `mem`. The input area is the thread's, shared by its parsers: the spans hold until the
 * next load() of any of them. Reused for every request (execute resets it); destroy() it after.
 */
export class HeadParser {
  private readonly ex: Exports;
  private readonly input: number;
  private readonly ptr: number;
  private u8: Buffer;
  /** Spans: [at, len] of the target; of each field name and value, alternately. */
  urlAt = 0;
  urlLen = 0;
  readonly fields = new Int32Array(MAX_FIELDS * 4);
  count = 0;
  tooMany = false;
  complete = false;
  method = 0;
  major = 0;
  minor = 0;
  keepAlive = false;
  private last = -1;
  private readonly targets = new LastString();
  private readonly hosts = new LastString();

  constructor() {
    const m = instance();
    this.ex = m.ex;
    this.input = m.input;
    this.ptr = this.ex.llhttp_alloc(TYPE_REQUEST);
    this.u8 = Buffer.from(this.ex.memory.buffer);
  }

  /** The module's memory as a Buffer. */
  get mem(): Buffer {
    if (this.u8.buffer !== this.ex.memory.buffer) this.u8 = Buffer.from(this.ex.memory.buffer);
    return this.u8;
  }

  /**
   * Copies the head buf[off, off+len) into the input area, percent-encoding bytes above
   * 0x7f in the request line (llhttp refuses them in the target; clients send UTF-8 paths
   * raw and nginx takes them: the decoded path is the same). Returns the length loaded.
   */
  load(buf: Uint8Array, off: number, len: number): number {
    const mem = this.mem;
    const at = this.input;
    let lineEnd = off;
    const end = off + len;
    while (lineEnd < end && buf[lineEnd] !== 0x0a) lineEnd++;
    let o = at;
    for (let i = off; i < lineEnd; i++) {
      const c = buf[i]!;
      if (c < 0x80) {
        mem[o++] = c;
      } else {
        mem[o++] = 0x25;
        mem[o++] = HEX[c >> 4]!;
        mem[o++] = HEX[c & 15]!;
      }
    }
    mem.set(buf.subarray(lineEnd, end), o);
    return o - at + (end - lineEnd);
  }

  /** Runs llhttp over the n bytes load() put in the input area; returns its errno. */
  execute(n: number): number {
    this.urlAt = this.urlLen = this.count = 0;
    this.tooMany = this.complete = false;
    this.last = -1;
    this.ex.llhttp_reset(this.ptr);
    current = this;
    try {
      return this.ex.llhttp_execute(this.ptr, this.input, n);
    } finally {
      current = null;
    }
  }

  /** A span callback: pieces of one span arrive contiguous, and are joined. */
  span(kind: number, at: number, len: number): void {
    if (kind === 0) {
      if (this.last === 0 && this.urlAt + this.urlLen === at) this.urlLen += len;
      else {
        this.urlAt = at;
        this.urlLen = len;
      }
    } else {
      const f = this.fields;
      if (this.last === kind && this.count > 0) {
        const i = (this.count - 1) * 4 + (kind === 1 ? 0 : 2);
        if (f[i]! + f[i + 1]! === at) {
          f[i + 1]! += len;
          this.last = kind;
          return;
        }
      }
      if (kind === 1) {
        if (this.count >= MAX_FIELDS) {
          this.tooMany = true;
          this.last = kind;
          return;
        }
        const i = this.count++ * 4;
        f[i] = at;
        f[i + 1] = len;
        f[i + 2] = at + len; // an empty value until one comes
        f[i + 3] = 0;
      } else if (this.count > 0 && !this.tooMany) {
        const i = (this.count - 1) * 4;
        f[i + 2] = at;
        f[i + 3] = len;
      }
    }
    this.last = kind;
  }

  headersComplete(): void {
    const ex = this.ex, p = this.ptr;
    this.complete = true;
    this.major = ex.llhttp_get_http_major(p);
    this.minor = ex.llhttp_get_http_minor(p);
    this.method = ex.llhttp_get_method(p);
    this.keepAlive = ex.llhttp_should_keep_alive(p) === 1;
  }

  /** Is field i's name `word` (lower case ASCII), ignoring case? */
  nameIs(i: number, word: string): boolean {
    const at = this.fields[i * 4]!, len = this.fields[i * 4 + 1]!;
    if (len !== word.length) return false;
    const mem = this.u8;
    for (let k = 0; k < len; k++) if ((mem[at + k]! | 0x20) !== word.charCodeAt(k)) return false;
    return true;
  }

  nameLength(i: number): number {
    return this.fields[i * 4 + 1]!;
  }

  value(i: number): string {
    const at = this.fields[i * 4 + 2]!;
    return this.u8.toString('latin1', at, at + this.fields[i * 4 + 3]!);
  }

  /** The request target; the same string as last time when its bytes are the same (a client asking again makes no new string). */
  target(): string {
    return this.targets.get(this.u8, this.urlAt, this.urlLen);
  }

  /** Field i's value, through the interner of the Host field's values. */
  hostValue(i: number): string {
    return this.hosts.get(this.u8, this.fields[i * 4 + 2]!, this.fields[i * 4 + 3]!);
  }

  destroy(): void {
    this.ex.llhttp_free(this.ptr);
  }
}

/**
 * The string of the bytes last asked for, kept with a copy of them: bytes equal to the last
 * (up to 256 of them) give the same string again instead of a new one.
 */
class LastString {
  private str = '';
  private len = -1;
  private readonly bytes = new Uint8Array(256);

  get(mem: Buffer, at: number, len: number): string {
    const b = this.bytes;
    if (len === this.len) {
      let k = 0;
      while (k < len && mem[at + k] === b[k]) k++;
      if (k === len) return this.str;
    }
    const s = mem.toString('latin1', at, at + len);
    if (len <= b.length) {
      b.set(mem.subarray(at, at + len));
      this.len = len;
      this.str = s;
    }
    return s;
  }
}

const HEX = Uint8Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));
