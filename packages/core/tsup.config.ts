import { packageConfig } from '../../tsup.config.base';

export default packageConfig(
  [
    'src/index.ts',
    'src/async/index.ts',
    'src/events/index.ts',
    'src/config/index.ts',
    'src/provider/index.ts',
    'src/services/index.ts',
    'src/session/index.ts',
    'src/testing/index.ts',
  ],
  {
    external: ['vitest'],
  },
);
