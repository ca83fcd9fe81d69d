import { packageConfig } from '../../tsup.config.base';

export default packageConfig(['src/main.ts'], { dts: false });
