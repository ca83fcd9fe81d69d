/** A value as the user wrote it, cut to 200 characters so an error never echoes a megabyte back. */
export function shown(value: unknown, max = 200): string {
  const text = Array.isArray(value) ? 'an array' : (JSON.stringify(value) ?? String(value));
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more)` : text;
}
