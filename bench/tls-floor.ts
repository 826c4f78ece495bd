/**
 * A floor for the self-test figures, measured on this machine in the same run: N concurrent TLS
 * handshakes from one Node process to a TLS server in another (ECDSA P-256, as the simulator
 * serves; one shared secure context, as the Kubernetes target uses). Every exec session of a
 * self-test starts with one such handshake, so a wave of N agents cannot start faster than this.
 */
import { spawn } from 'node:child_process';
import tls from 'node:tls';
import { generateServingTls } from '../src/sim/tls.ts';

export interface TlsFloor {
  handshakes: number;
  wallMs: number;
  clientCpuMsEach: number;
}

const SERVER = `
const tls = require('node:tls');
const { key, cert } = JSON.parse(process.argv[1]);
const s = tls.createServer({ key, cert }, (sock) => { sock.on('error', () => {}); sock.resume(); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

export async function benchTlsFloor(n = 500): Promise<TlsFloor> {
  const pems = await generateServingTls(['127.0.0.1']);
  const server = spawn(process.execPath, ['-e', SERVER, JSON.stringify({ key: pems.keyPem, cert: pems.certPem })], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      server.once('exit', (code) => reject(new Error(`TLS server exited (${code})`)));
    });
    const secureContext = tls.createSecureContext({ ca: pems.caPem });
    const connect = () =>
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, secureContext, servername: '' }, () => resolve(s));
        s.once('error', reject);
      });
    (await connect()).destroy(); // warm up: first-use costs belong to no wave
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const sockets = await Promise.all(Array.from({ length: n }, connect));
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    for (const s of sockets) s.destroy();
    return { handshakes: n, wallMs, clientCpuMsEach: (cpu.user + cpu.system) / 1000 / n };
  } finally {
    server.kill('SIGTERM');
  }
}
