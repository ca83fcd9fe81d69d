// The demo's stand-in tunnel process: testkit's forwarder, bundled into the CLI so `tunnelmux demo` needs
// nothing but the CLI. Usage: node dist/demo-forwarder.js --target HOST:PORT [--faults FILE]
import '../../testkit/src/bin/forwarder';
