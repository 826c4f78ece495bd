/**
 * Slack's Socket Mode side, for tests: the WebSocket that `apps.connections.open` hands out.
 * It greets a client with `hello`, delivers envelopes (`slash_commands`, `interactive`, …) as
 * Slack does, and resolves each delivery with the client's acknowledgement, which must carry
 * the same `envelope_id` (and, for slash commands, may carry a response payload).
 *
 * Wire format (what @slack/socket-mode 2 parses): every frame is a JSON text message;
 * `{type:'hello', num_connections, debug_info, connection_info:{app_id}}` first; then
 * `{envelope_id, type, payload, accepts_response_payload}`; acks are `{envelope_id, payload}`.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface SocketModeAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export class SocketModeServer {
  private readonly pending = new Map<string, (ack: SocketModeAck) => void>();
  private connected?: Promise<WebSocket>;
  private resolveConnected?: (ws: WebSocket) => void;
  /** How many times a client opened the socket (reconnects count). */
  connections = 0;

  private constructor(private readonly wss: WebSocketServer) {
    this.connected = new Promise((r) => (this.resolveConnected = r));
    wss.on('connection', (ws) => {
      this.connections++;
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as SocketModeAck;
        this.pending.get(msg.envelope_id)?.(msg);
        this.pending.delete(msg.envelope_id);
      });
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: 1,
          debug_info: { host: 'test', approximate_connection_time: 18060 },
          connection_info: { app_id: 'A0TEST' },
        }),
      );
      this.resolveConnected?.(ws);
    });
  }

  static async start(): Promise<SocketModeServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new SocketModeServer(wss);
  }

  /** The `url` that `apps.connections.open` answers with. */
  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/link/?ticket=${randomUUID()}&app_id=A0TEST`;
  }

  /** Delivers one envelope once a client is connected; resolves with its acknowledgement. */
  async deliver(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>): Promise<SocketModeAck> {
    const ws = await this.connected!;
    const envelope_id = randomUUID();
    const acked = new Promise<SocketModeAck>((resolve) => this.pending.set(envelope_id, resolve));
    ws.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api' }));
    return acked;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
