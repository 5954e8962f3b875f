import type { ServerResponse } from 'node:http';
import type * as PromClient from 'prom-client';
import { loadPromClient, type MetricsRegistry, serveMetrics } from '../metrics/prometheus.js';

/** The gateway's own counter, next to the authentication metrics of header mode. */
export class GatewayMetrics {
  readonly registry: MetricsRegistry;
  readonly #requests: PromClient.Counter<'status'>;

  /** `registry`: header mode's (from ntlm({ metrics })); pass-through mode gets one of its own, with Node's process metrics. */
  constructor(registry: MetricsRegistry | undefined) {
    const client = loadPromClient();
    let own: PromClient.Registry | undefined;
    if (!registry) {
      own = new client.Registry();
      client.collectDefaultMetrics({ register: own });
    }
    this.registry = registry ?? own!;
    this.#requests = new client.Counter({
      name: 'ntlm_sso_gateway_requests_total',
      help: 'Requests the gateway answered or proxied, by status',
      labelNames: ['status'],
      registers: [this.registry as PromClient.Registry],
    });
  }

  request(status: number): void {
    this.#requests.inc({ status: String(status) });
  }

  serve(res: ServerResponse): void {
    serveMetrics(this.registry, res);
  }
}
