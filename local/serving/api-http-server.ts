/**
 * A loopback HTTP server in front of the recommendations API handler, doing what API Gateway does
 * for it (route key, path parameters, query string, a request id): for the bench and local use.
 * No authentication: it listens on 127.0.0.1 only.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { ApiEvent, ApiHandler } from '../../core/api/api';
import { matchRoute } from '../../core/api/routes';

/** The payload 2.0 event API Gateway would send for this request. */
export function apiGatewayEvent(method: string, url: string, body?: string, requestId: string = randomUUID()): ApiEvent {
  const u = new URL(url, 'http://localhost');
  const match = matchRoute(method, u.pathname);
  const query: Record<string, string> = {};
  // API Gateway joins repeated parameters with commas.
  for (const [k, v] of u.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  return {
    routeKey: match?.routeKey ?? `${method.toUpperCase()} ${u.pathname}`,
    pathParameters: match?.pathParameters,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    body,
    isBase64Encoded: false,
    requestContext: { requestId },
  };
}

export async function startApiServer(handler: ApiHandler, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length > 0 ? Buffer.concat(chunks).toString('utf-8') : undefined;
      handler(apiGatewayEvent(req.method ?? 'GET', req.url ?? '/', body))
        .then((result) => {
          res.writeHead(result.statusCode, result.headers as http.OutgoingHttpHeaders);
          res.end(result.body);
        })
        .catch((e: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(e));
        });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
