import { testProviderContract } from '@tunnelmux/core/testing';
import socat from './index';

// The same suite every provider runs, here against the real socat from the system (Debian's `socat`).
testProviderContract({
  provider: socat,
  options: () => ({}),
  badOptions: [
    { bind: 'localhost' },
    { bind: '0.0.0.0' },
    { bind: '127.0.0.1:9000' },
    { port: 0 },
    { port: 70000 },
    { bin: '' },
    { extraAddressOptions: ['nodelay,fork'] },
    { extraAddressOptions: ['nodelay!!TCP:evil:1'] },
    { extraAddressOptions: 'nodelay' },
    { listen: 2222 },
  ],
});
