// The fake `ngrok` executable: tests put packages/testkit/bin first on PATH.
import { runFakeNgrok } from '../fakes/ngrok/agent';

process.exitCode = await runFakeNgrok(process.argv.slice(2), process.env);
process.exit();
