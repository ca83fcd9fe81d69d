export { type BannerServer, startBannerServer } from './banner-server';
export { type ContractSetup, testProviderContract } from './contract';
export { commandLine, descendants, isAlive, listeningPorts } from './process-state';
export { createDetectContext, createTestContext, type TestContext } from './test-context';
