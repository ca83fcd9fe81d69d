import net from 'node:net';

export const BANNER = 'SSH-2.0-tunnelmux-soak\r\n';
const FIRE = Buffer.from('FIRE\n');

/** The soak's service: speaks first like sshd, then echoes; a client that opens with `FIRE\n` gets a firehose. */
export interface SoakTarget {
  port: number;
  /** Bytes the kernel accepted on each open firehose connection (what a never-reading client forces us to hold). */
  firehoses(): number[];
  /** Most bytes any firehose connection ever got accepted before it stalled or closed. */
  readonly maxFirehoseBytes: number;
  close(): Promise<void>;
}

export async function startTarget(): Promise<SoakTarget> {
  const sockets = new Set<net.Socket>();
  const fire = new Map<net.Socket, number>();
  let maxFirehoseBytes = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x66);
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      fire.delete(socket);
    });
    socket.write(BANNER);
    let head = Buffer.alloc(0);
    const first = (data: Buffer) => {
      head = Buffer.concat([head, data]);
      const n = Math.min(head.length, FIRE.length);
      if (head.subarray(0, n).equals(FIRE.subarray(0, n)) && head.length < FIRE.length) return;
      socket.off('data', first);
      if (head.subarray(0, FIRE.length).equals(FIRE)) {
        firehose(socket);
        return;
      }
      // Echo, with back-pressure, including what was read so far.
      socket.write(head);
      socket.pipe(socket);
    };
    socket.on('data', first);
  });
  const firehose = (socket: net.Socket) => {
    fire.set(socket, 0);
    const pump = () => {
      while (socket.writable) {
        const more = socket.write(chunk);
        const total = (fire.get(socket) ?? 0) + chunk.length;
        fire.set(socket, total);
        maxFirehoseBytes = Math.max(maxFirehoseBytes, total);
        if (!more) break;
      }
    };
    socket.on('drain', pump);
    socket.on('data', () => undefined);
    pump();
  };
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    firehoses: () => [...fire.values()],
    get maxFirehoseBytes() {
      return maxFirehoseBytes;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
