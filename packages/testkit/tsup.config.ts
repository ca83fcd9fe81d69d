import { packageConfig } from '../../tsup.config.base';

export default packageConfig([
  'src/index.ts',
  'src/fakes/index.ts',
  'src/fuzz/index.ts',
  'src/bin/*.ts',
  'src/demo/main.ts',
]);
