import { readFileSync } from 'node:fs';
import { packageConfig } from '../../tsup.config.base';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

export default packageConfig(['src/index.ts', 'src/bin.ts', 'src/demo-forwarder.ts'], {
  define: { __TUNNELMUX_CLI_VERSION__: JSON.stringify(version) },
});
