/**
 * npm run sim -- --fleet <fleet.yaml> [--port N] [--host H] [--kubeconfig <out>] [--runtime containerd|cri-dockerd] [--verbose]
 *
 * Starts the Kubernetes API simulator for a fleet, writes a kubeconfig for it, and runs until
 * SIGINT/SIGTERM. Exit codes: 0 after a clean stop, 2 for bad flags or a bad fleet file, 1 otherwise.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FleetError, loadFleet } from './fleet.ts';
import { startSimulator } from './index.ts';

const USAGE = `usage: npm run sim -- --fleet <fleet.yaml> [options]

  --fleet <path>        fleet spec (YAML), e.g. test/fixtures/fleets/sim-a.yaml   (required)
  --port <n>            port on the host (default 0: a free port)
  --host <addr>         address to listen on (default 127.0.0.1)
  --kubeconfig <path>   where to write the kubeconfig (default ./.sim/<fleet name>.kubeconfig)
  --runtime <name>      containerd (default) or cri-dockerd: what the nodes report, and how an exec
                        of a missing binary fails (InternalError vs. exit code 126)
  --verbose             log every API request to stderr
  --help                this text
`;

function usageError(message: string): never {
  process.stderr.write(`sim: ${message}\n\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        fleet: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        kubeconfig: { type: 'string' },
        runtime: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.fleet) usageError('--fleet is required');
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usageError(`--port must be a port number (0–65535), got "${values.port}"`);
  const runtime = values.runtime ?? 'containerd';
  if (runtime !== 'containerd' && runtime !== 'cri-dockerd') usageError(`--runtime must be containerd or cri-dockerd, got "${runtime}"`);

  let fleet;
  try {
    fleet = loadFleet(values.fleet);
  } catch (err) {
    if (!(err instanceof FleetError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }

  const sim = await startSimulator({
    fleet,
    port,
    runtime,
    ...(values.host ? { host: values.host } : {}),
    ...(values.verbose ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  const kubeconfigPath = resolve(values.kubeconfig ?? `.sim/${fleet.name}.kubeconfig`);
  await sim.writeKubeconfig(kubeconfigPath);
  process.stdout.write(`Kubernetes API simulator for fleet "${fleet.name}" (SIMULATED) listening on ${sim.url}\n`);
  process.stdout.write(`kubeconfig: ${kubeconfigPath}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`sim: ${signal}, stopping\n`);
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`sim: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`sim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
