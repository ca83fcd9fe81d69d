import { packageConfig } from '../../tsup.config.base';

// `node:sqlite` exists only with its scheme: keep the `node:` prefix that tsup strips by default.
export default packageConfig(['src/index.ts'], { removeNodeProtocol: false });
