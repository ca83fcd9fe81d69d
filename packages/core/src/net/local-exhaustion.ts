const CODES = new Set(['EMFILE', 'ENFILE']);

/**
 * Whether `error` (or any error in its `cause` chain) says this process or the machine ran out of file
 * descriptors: a local condition that says nothing about the path being dialled, so it must not count against it.
 */
export function isOutOfDescriptors(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
