/**
 * The recommendations API's routes: the construct creates exactly these API Gateway routes and the
 * handler dispatches on their route keys, so the two cannot drift apart. `matchRoute` does what
 * API Gateway does for the local server (bench, development): route key and path parameters.
 */
export const API_ROUTES = {
  userRecommendations: { method: 'GET', path: '/users/{userId}/recommendations' },
  boughtTogether: { method: 'GET', path: '/products/{productId}/bought-together' },
  userSegment: { method: 'GET', path: '/users/{userId}/segment' },
  userForecast: { method: 'GET', path: '/users/{userId}/forecast' },
  scoreSession: { method: 'POST', path: '/sessions/score' },
  health: { method: 'GET', path: '/health' },
} as const;

export type RouteName = keyof typeof API_ROUTES;

export const routeKey = (name: RouteName): string => `${API_ROUTES[name].method} ${API_ROUTES[name].path}`;

export interface MatchedRoute {
  readonly routeKey: string;
  readonly pathParameters: Record<string, string>;
}

/** API Gateway's matching for these routes: one `{name}` per path segment, no greedy parameters. */
export function matchRoute(method: string, rawPath: string): MatchedRoute | undefined {
  const segments = rawPath.split('/');
  for (const name of Object.keys(API_ROUTES) as RouteName[]) {
    const route = API_ROUTES[name];
    if (route.method !== method.toUpperCase()) continue;
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = template.every((part, i) => {
      const param = /^\{(\w+)\}$/.exec(part);
      if (!param) return part === segments[i];
      if (segments[i] === '') return false;
      pathParameters[param[1]] = decodeURIComponent(segments[i]);
      return true;
    });
    if (matches) return { routeKey: routeKey(name), pathParameters };
  }
  return undefined;
}
