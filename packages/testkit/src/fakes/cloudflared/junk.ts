// Endless very long lines on stderr, one per event-loop turn so signals and connections are still served.

/** Start printing junk to `stream`, waiting for 'drain' when the reader lags; returns a stop function. */
export function startJunk(stream: NodeJS.WritableStream, lineLength = 256 * 1024): () => void {
  const line = `${'junk-'.repeat(Math.ceil(lineLength / 5)).slice(0, lineLength)}\n`;
  let stopped = false;
  const pump = () => {
    if (stopped) return;
    // Without back-pressure a slow reader would make the fake itself grow without bound.
    if (stream.write(line)) setImmediate(pump);
    else stream.once('drain', pump);
  };
  setImmediate(pump);
  return () => {
    stopped = true;
  };
}
