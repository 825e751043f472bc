// Proxy tokens made by the tests themselves, from the documented format (README "User
// whitelist"): an independent implementation, to forge what the proxy must refuse.
import { createHmac } from 'node:crypto';

export function forgeToken(claims, secret) {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `erp1.${body}.${createHmac('sha256', secret).update(`erp1.${body}`).digest('base64url')}`;
}
