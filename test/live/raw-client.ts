// A WebSocket client on a raw TCP socket, for slow-consumer tests: it does the handshake,
// sends masked text frames, and can stop reading (socket.pause) so the kernel buffers fill
// and the server's own send buffer grows. Frames read later are parsed to find the close frame.

import type { Socket } from 'bun';

export interface RawFrame {
  opcode: number;
  payload: Buffer;
}

export class RawWsClient {
  private received = Buffer.alloc(0);
  private handshake = '';
  private upgraded = false;
  private ended = false;
  private onHeaders: ((head: string) => void) | null = null;
  /** The server's handshake answer: status line and headers. */
  head = '';

  private constructor(private readonly socket: Socket<undefined>) {}

  /** Opens a handshake; `upgrade` is the `Upgrade` header's value (RFC 6455: any case). */
  static async connect(
    port: number,
    path: string,
    headers: Record<string, string> = {},
    upgrade = 'websocket',
  ) {
    let self: RawWsClient | null = null;
    let resolveHead: (head: string) => void = () => {};
    const opened = new Promise<string>((resolve) => {
      resolveHead = resolve;
    });
    const socket = await Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        data: (_s, chunk) => self?.take(Buffer.from(chunk)),
        close: () => {
          if (self !== null) self.ended = true;
        },
      },
    });
    self = new RawWsClient(socket);
    self.onHeaders = resolveHead;
    // `host` in `headers` stands for the server's address (as a proxy rewrites it).
    const { host = `127.0.0.1:${port}`, ...rest } = headers;
    const extra = Object.entries(rest).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: ${upgrade}\r\n` +
        'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        `Sec-WebSocket-Version: 13\r\n${extra.join('')}\r\n`,
    );
    const head = await opened;
    if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head}`);
    self.head = head;
    return self;
  }

  /** Sends one masked text frame (clients must mask). */
  sendText(text: string): void {
    const payload = Buffer.from(text);
    const mask = Buffer.from([1, 2, 3, 4]);
    const length = payload.length;
    const header =
      length < 126
        ? Buffer.from([0x81, 0x80 | length])
        : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
    const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Stops reading: the kernel buffers fill, then the server's queue for this socket grows. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Every complete frame received so far. */
  frames(): RawFrame[] {
    const frames: RawFrame[] = [];
    let at = 0;
    const buf = this.received;
    while (at + 2 <= buf.length) {
      const opcode = (buf[at] as number) & 0x0f;
      let length = (buf[at + 1] as number) & 0x7f;
      let start = at + 2;
      if (length === 126) {
        length = buf.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        length = Number(buf.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (start + length > buf.length) break;
      frames.push({ opcode, payload: buf.subarray(start, start + length) });
      at = start + length;
    }
    return frames;
  }

  /** The close frame's code and reason, once received. */
  closeFrame(): { code: number; reason: string } | null {
    const close = this.frames().find((f) => f.opcode === 0x8);
    if (close === undefined) return null;
    return { code: close.payload.readUInt16BE(0), reason: close.payload.subarray(2).toString() };
  }

  get bytesReceived(): number {
    return this.received.length;
  }

  end(): void {
    this.socket.end();
  }

  private take(chunk: Buffer): void {
    if (this.upgraded) {
      this.received = Buffer.concat([this.received, chunk]);
      return;
    }
    this.handshake += chunk.toString('latin1');
    const end = this.handshake.indexOf('\r\n\r\n');
    if (end === -1) return;
    this.upgraded = true;
    const rest = Buffer.from(this.handshake.slice(end + 4), 'latin1');
    this.received = Buffer.concat([this.received, rest]);
    this.onHeaders?.(this.handshake.slice(0, end));
  }
}
