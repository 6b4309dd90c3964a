// The one HTTP + WebSocket client of both pages: JSON in, JSON out, and the service's one error shape
// ({"error": {"code", "message"}}) turned into an ApiError. A network failure stays a plain TypeError
// (no status), which the pages show as "offline".

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

// `token`: a bearer token (the borrower's conversation token); the console rides on its session cookie.
// `onUnauthorized`: called with the response when the service answers 401, before the error is thrown.
export async function request(method, path, body, { token, onUnauthorized } = {}) {
  const headers = body === undefined ? {} : { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (response.status === 401 && onUnauthorized) onUnauthorized(response);
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiError((error && error.message) || response.statusText, response.status, error && error.code);
  }
  return data;
}

// A failed call as the staff pages say it: the service's message for a refused request (it names the field
// or the rule), the page's own words for a network failure or a service error (`err_offline`,
// `err_unavailable` in the page's dictionaries), which would otherwise show "Failed to fetch" in English.
export function failureText(error, t) {
  if (!error || !error.status) return t("err_offline");
  if (error.status >= 500) return t("err_unavailable");
  return error.message || String(error);
}

export function socketUrl(path) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

// Opens a WebSocket whose frames are JSON; frames that are not JSON are dropped. The handlers are the
// socket's own properties (onopen, onclose), so a caller may detach them (`ws.onclose = null`) before closing.
export function openSocket(path, { onOpen, onFrame, onClose }) {
  const ws = new WebSocket(socketUrl(path));
  ws.onopen = () => onOpen && onOpen(ws);
  ws.onmessage = (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch { return; }
    onFrame(frame);
  };
  ws.onclose = (event) => onClose && onClose(event, ws);
  return ws;
}

export function sendFrame(ws, frame) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
}
