// The daemon's REST API as the dashboard uses it: every call carries the
// bearer token from session storage when there is one (the TCP listener
// needs it; the Unix socket does not).

const tokenKey = 'popek-token';

export class Unauthorized extends Error {
  constructor() { super('the daemon wants a bearer token'); }
}

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export const token = () => sessionStorage.getItem(tokenKey) || '';
export const setToken = (t) => t ? sessionStorage.setItem(tokenKey, t) : sessionStorage.removeItem(tokenKey);

const seg = encodeURIComponent;

function init(method, body, signal) {
  const headers = new Headers();
  if (token()) headers.set('Authorization', 'Bearer ' + token());
  const req = { method, headers, cache: 'no-store', signal };
  if (body !== undefined) {
    headers.set('Content-Type', 'application/json');
    req.body = JSON.stringify(body);
  }
  return req;
}

// call sends one request and returns its decoded JSON (null for 204).
export async function call(method, path, body) {
  const r = await fetch(path, init(method, body));
  if (r.status === 401) throw new Unauthorized();
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: the status says it all */ }
  if (!r.ok) throw new APIError(r.status, (data && data.error) || `${r.status} ${r.statusText}`);
  return data;
}

// ndjson yields the objects of a newline-delimited JSON stream until it
// ends or signal aborts it.
export async function* ndjson(path, signal) {
  const r = await fetch(path, init('GET', undefined, signal));
  if (r.status === 401) throw new Unauthorized();
  if (!r.ok) throw new APIError(r.status, `${r.status} ${r.statusText}`);
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
}

export const vmPath = (name, ...rest) => ['/v1/vms', seg(name), ...rest.map(seg)].join('/');

// consoleURL trades the token for a one-use console ticket: a browser
// cannot put an Authorization header on a WebSocket, and the long-lived
// token must not go into a URL.
export async function consoleURL(name) {
  const t = await call('POST', vmPath(name, 'console', 'ticket'));
  const u = new URL(vmPath(name, 'console'), location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.searchParams.set('scrollback', 'true');
  u.searchParams.set('ticket', t.ticket);
  return u.href;
}
