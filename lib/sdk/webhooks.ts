// Webhook signatures (the Stripe scheme), for the server that signs and the receivers that check:
//   modeldao-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
import crypto from 'node:crypto';

export function signWebhook(secret: string, rawBody: string | Buffer, timestamp: number): string {
  const mac = crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export type WebhookVerdict = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'bad_signature' | 'stale' };

/**
 * Checks a delivery: the HMAC over the raw body (as received, before any JSON parsing) with the
 * shared secret, compared in constant time, and the timestamp within `toleranceSeconds` (default
 * 300) of now, so a captured request cannot be replayed later. Deduplicate on modeldao-webhook-id.
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: string | Buffer,
  header: string | undefined,
  opts: { toleranceSeconds?: number; now?: number } = {},
): WebhookVerdict {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return { ok: false, reason: 'malformed' };
  const t = Number(m[1]);
  const expected = Buffer.from(signWebhook(secret, rawBody, t).slice(`t=${t},v1=`.length), 'hex');
  if (!crypto.timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'))) return { ok: false, reason: 'bad_signature' };
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceSeconds ?? 300)) return { ok: false, reason: 'stale' };
  return { ok: true, timestamp: t };
}
