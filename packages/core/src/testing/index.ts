export { testProviderContract, type ContractSetup } from './contract';
export { startBannerServer, type BannerServer } from './banner-server';
export { commandLine, descendants, isAlive } from './process-state';
