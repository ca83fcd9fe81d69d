// The fake `cloudflared` executable: tests put packages/testkit/bin first on PATH.
import { runFakeCloudflared } from '../fakes/cloudflared/main';

process.exitCode = await runFakeCloudflared(process.argv.slice(2), process.env);
process.exit();
