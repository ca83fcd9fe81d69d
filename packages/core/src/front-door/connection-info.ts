import type { Socket } from 'node:net';
import type { TrafficReader } from './route-source';

/** One client connection, for status. */
export interface FrontDoorConnection {
  id: number;
  client: string;
  pathId?: string;
  bytesIn: number;
  bytesOut: number;
  /** Client bytes held for replay while no path has answered yet (at most about `holdLimit`). */
  heldBytes: number;
  openedAt: number;
  /** Paths tried before one carried it. */
  attempts: number;
}

/**
 * A client's live status entry. A carrier fills in `pathId`, `attempts` and `heldBytes`, and says where the byte
 * counts are kept (`follow`); the client's address is asked of the kernel only when first read. One class for
 * every client, so reading and writing an entry stays on V8's fast path.
 */
export class ConnectionInfo implements FrontDoorConnection {
  pathId: string | undefined = undefined;
  heldBytes = 0;
  attempts = 0;
  readonly openedAt = Date.now();
  #client = '';
  #read: TrafficReader | undefined = undefined;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
  ) {}

  /** `host:port` of the client; `unknown` once its socket is gone without anyone having asked. */
  get client(): string {
    if (this.#client === '') {
      const { remoteAddress, remotePort } = this.socket;
      if (remoteAddress === undefined) return 'unknown';
      this.#client = `${remoteAddress}:${remotePort}`;
    }
    return this.#client;
  }

  /** Bytes from the path to the client. */
  get bytesIn(): number {
    return this.#read ? this.#read().bytesIn : 0;
  }

  /** Bytes from the client to the path. */
  get bytesOut(): number {
    return this.#read ? this.#read().bytesOut : 0;
  }

  /** Read the byte counts from `read` from now on. */
  follow(read: TrafficReader): void {
    this.#read = read;
  }

  /** A plain copy, as status shows it. */
  snapshot(): FrontDoorConnection {
    const { bytesIn, bytesOut } = this.#read ? this.#read() : { bytesIn: 0, bytesOut: 0 };
    return {
      id: this.id,
      client: this.client,
      ...(this.pathId === undefined ? {} : { pathId: this.pathId }),
      bytesIn,
      bytesOut,
      heldBytes: this.heldBytes,
      openedAt: this.openedAt,
      attempts: this.attempts,
    };
  }
}
