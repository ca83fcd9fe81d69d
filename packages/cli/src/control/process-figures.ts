/** This process's own figures for `info`: what /proc cannot tell from outside (V8 heap, live handles). */
export function processFigures(): Record<string, number> {
  const memory = process.memoryUsage();
  return {
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    // Handles, requests and timers keeping the event loop alive: a leak of sockets or timers shows here.
    activeResources: process.getActiveResourcesInfo().length,
    uptimeSeconds: Math.round(process.uptime()),
  };
}
