import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

// Options we set ourselves (or that would prompt, share a master or leak a password): not allowed in `sshOptions`.
const MANAGED_OPTIONS: Record<string, string> = {
  batchmode: 'BatchMode is always yes, so ssh never prompts',
  exitonforwardfailure:
    'ExitOnForwardFailure is always yes, so a failed forward is an exit, not a dead tunnel',
  stricthostkeychecking: 'use the "strictHostKeyChecking" option',
  userknownhostsfile: 'use the "knownHostsFile" option',
  identityfile: 'use the "identityFile" option',
  identitiesonly: 'it follows the "identityFile" option',
  serveraliveinterval: 'use the "serverAliveInterval" option',
  serveralivecountmax: 'use the "serverAliveCountMax" option',
  connecttimeout: 'use the "connectTimeout" option',
  port: 'use the "port" option',
  user: 'use the "user" option',
  hostname: 'use the "host" option',
  localforward: 'the provider owns the forward',
  remoteforward: 'the provider owns the forward',
  dynamicforward: 'the provider owns the forward',
  clearallforwardings: 'the provider owns the forward',
  gatewayports: 'the forward listens on 127.0.0.1 only',
  controlmaster: 'a shared master connection would hide the tunnel from its supervisor',
  controlpath: 'a shared master connection would hide the tunnel from its supervisor',
  controlpersist: 'a shared master connection would hide the tunnel from its supervisor',
  forkafterauthentication: 'the provider supervises ssh in the foreground',
  sessiontype: 'the provider runs ssh with -N',
  requesttty: 'the provider runs ssh with -N',
  permitlocalcommand: 'no local commands',
  localcommand: 'no local commands',
};

// A last path segment that no value has: core echoes the value at an issue's path, and this one may be a password.
const HIDDEN = '(value not shown)';

// Anything that reads like password authentication: the provider never takes a password.
const PASSWORDISH =
  /password|passphrase|sshpass|askpass|keyboard-interactive|kbdinteractive|challengeresponse/i;

const sshOptionValue = z.union([z.string(), z.number(), z.boolean()]).transform((value, ctx) => {
  const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
  const controlChar = [...text].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);
  if (text.length === 0 || controlChar) {
    ctx.addIssue({ code: 'custom', message: 'must be a non-empty value on one line' });
    return z.NEVER;
  }
  return text;
});

/** A file ssh will read: `~` expanded as ssh does, relative paths from the working folder. */
function localFile(file: string): string {
  return path.resolve(file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file);
}

/** Why ssh could not read this file, or undefined; a path with ssh's %-tokens is left for ssh to expand. */
function missingFile(file: string): string | undefined {
  if (file.includes('%') || /^~[^/]/.test(file)) return undefined;
  const resolved = localFile(file);
  try {
    return statSync(resolved).isDirectory() ? `${resolved} is a directory, not a file` : undefined;
  } catch {
    return `the file ${resolved} does not exist`;
  }
}

/** One path's options: how to reach the jump host, and how strictly to trust it. */
export const sshOptionsSchema = z
  .object({
    /** The jump host: a host name or address (an ssh_config alias works too). */
    host: z
      .string()
      .min(1, 'must be a host name or address such as jump.example.com')
      .regex(
        /^[A-Za-z0-9_.:%[\]-]+$/,
        'must be a host name or address such as jump.example.com (no spaces or @)',
      )
      .refine((host) => !host.startsWith('-'), 'must not start with "-"'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z
      .string()
      .regex(
        /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/,
        'must be a login name such as "me" (letters, digits, . _ -)',
      )
      .optional(),
    /** Private key file; with it ssh offers only this key (IdentitiesOnly). */
    identityFile: z.string().min(1).optional(),
    /** A known_hosts file holding the jump host's key. */
    knownHostsFile: z.string().min(1).optional(),
    strictHostKeyChecking: z.enum(['yes', 'accept-new', 'no']).default('yes'),
    /** Required, set to true, for strictHostKeyChecking "no": trusting any host key invites a man in the middle. */
    insecureNoHostKeyCheck: z.boolean().default(false),
    /** Seconds of silence before ssh probes the server. */
    serverAliveInterval: z.number().int().min(1).max(3600).default(15),
    /** Unanswered probes before ssh gives up on the server. */
    serverAliveCountMax: z.number().int().min(1).max(100).default(3),
    /** Seconds allowed for the TCP connect and the SSH banner. */
    connectTimeout: z.number().int().min(1).max(600).default(10),
    /** The local forward's port on 127.0.0.1; default a free port per open. */
    localPort: z.number().int().min(1).max(65535).optional(),
    /** An ssh_config file (`-F`); "none" ignores every config file. */
    configFile: z.string().min(1).optional(),
    /** More `-o Key=Value` options, e.g. { ProxyJump: "bastion", Ciphers: "aes256-gcm@openssh.com" }. */
    sshOptions: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be an ssh_config keyword'), sshOptionValue)
      .default({}),
    /** The ssh executable; default `ssh` on PATH. */
    bin: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((options, ctx) => {
    // A missing key would otherwise read as the server refusing it ("Permission denied").
    const noKey = options.identityFile && missingFile(options.identityFile);
    if (noKey) {
      ctx.addIssue({
        code: 'custom',
        path: ['identityFile'],
        message: `names a private key that cannot be read: ${noKey}; create one with \`ssh-keygen -t ed25519 -f ${localFile(options.identityFile!)}\` and add its .pub to the jump host's authorized_keys, or fix the path`,
      });
    }
    const noConfig = options.configFile && options.configFile !== 'none' && missingFile(options.configFile);
    if (noConfig) {
      ctx.addIssue({
        code: 'custom',
        path: ['configFile'],
        message: `names an ssh_config that cannot be read: ${noConfig}; fix the path, or use "none" to read no config file`,
      });
    }
    if (options.strictHostKeyChecking === 'no' && !options.insecureNoHostKeyCheck) {
      ctx.addIssue({
        code: 'custom',
        path: ['strictHostKeyChecking'],
        message:
          'may be "no" only together with insecureNoHostKeyCheck: true (it trusts any host key); prefer "yes" with knownHostsFile, or "accept-new"',
      });
    }
    for (const [key, value] of Object.entries(options.sshOptions)) {
      const managed = MANAGED_OPTIONS[key.toLowerCase()];
      if (managed) {
        ctx.addIssue({
          code: 'custom',
          path: ['sshOptions', key],
          message: `cannot be set here: ${managed}`,
        });
      } else if (PASSWORDISH.test(key) || PASSWORDISH.test(value)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sshOptions', key, HIDDEN],
          message:
            'looks like password authentication; the ssh provider only uses keys (identityFile) with BatchMode',
        });
      } else if (key.toLowerCase() === 'preferredauthentications' && !/^[a-z0-9@.,-]+$/i.test(value)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sshOptions', key],
          message: 'must be a comma-separated method list',
        });
      }
    }
  });

export type SshOptions = z.output<typeof sshOptionsSchema>;

/** The options with a top-level `password` rejected by name first, so the message says why. */
export const optionsSchema = z.preprocess((input, ctx) => {
  if (input && typeof input === 'object') {
    for (const key of Object.keys(input)) {
      if (PASSWORDISH.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key, HIDDEN],
          message:
            'is not accepted: the ssh provider never takes a password; put the public key in the jump host\'s authorized_keys and set "identityFile"',
        });
      }
    }
  }
  return input;
}, sshOptionsSchema);
