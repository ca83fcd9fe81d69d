import net from 'node:net';

/** Ask a running tunnelmux one control-socket question (one JSON line each way), bounded by `timeoutMs`. */
export function ask(socketPath: string, method: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    const timer = setTimeout(
      () => socket.destroy(new Error(`${method} on ${socketPath}: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, method })}\n`));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        const answer = JSON.parse(text.slice(0, newline)) as {
          ok: boolean;
          result?: unknown;
          error?: { message: string };
        };
        if (answer.ok) resolve(answer.result as Record<string, unknown>);
        else reject(new Error(`${method}: ${answer.error?.message}`));
      } catch (error) {
        reject(error);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
