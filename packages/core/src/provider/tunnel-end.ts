/** How a path ended by itself: not process-shaped, so a tunnel without a process of its own says it plainly. */
export interface TunnelEnd {
  /** What happened, in words (`process exited (code 1)`, `tailscale logged out`). */
  reason: string;
  /** Retrying cannot help (credentials revoked, login required): the path goes to `failed`, not restarted. */
  fatal?: boolean;
  /** The tool's last lines (bounded), newest last, when there was a tool. */
  lastLines?: string[];
  /** How the tool's process ended, when the path had one. */
  exit?: { code: number | null; signal: string | null };
}
