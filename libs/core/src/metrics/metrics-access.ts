import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors/app-error';

/** Who may read GET /metrics (gateway and worker): see METRICS_TOKEN. */
export interface MetricsAccess {
  /** Scrapers send `Authorization: Bearer <token>`; null: no token set. */
  token: string | null;
  /** Without a token: open (development only) or refused. */
  open: boolean;
}

/** Throws unless a request with this Authorization header may read the metrics. */
export function assertMetricsAllowed(access: MetricsAccess, authorization: string | undefined): void {
  if (!access.token) {
    if (access.open) return;
    throw AppError.forbidden('Metrics are not served without METRICS_TOKEN outside development');
  }
  const sent = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
  if (!sent) throw AppError.unauthorized('Metrics need Authorization: Bearer <METRICS_TOKEN>');
  const a = Buffer.from(sent);
  const b = Buffer.from(access.token);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    throw AppError.unauthorized('The metrics token is not the one configured', {}, true);
}
