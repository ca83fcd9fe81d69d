// The fake `tailscale` executable; tests put packages/testkit/bin first on PATH.
import { main } from '../fakes/tailscale/cli';

// Exit explicitly: `nc` may still hold stdin open after the far side has closed.
process.exit(await main(process.argv.slice(2)));
