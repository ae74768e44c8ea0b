// Talking to the server: the API key (session storage only), the 401 prompt, and OpenAI error bodies.

const KEY_STORAGE = 'modular.apiKey';

/** An HTTP failure with the fields of the OpenAI error body when the server sent one. */
export class ApiError extends Error {
  constructor(status, message, type = null, code = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.code = code;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** Headers for a request: JSON body type plus the bearer key when one is stored. */
export function authHeaders(extra = {}) {
  const headers = new Headers(extra);
  const key = apiKey();
  if (key) headers.set('Authorization', 'Bearer ' + key);
  return headers;
}

/** Reads an error response into an ApiError, preferring the OpenAI shape {"error":{"message",...}}. */
export async function errorFrom(response) {
  let text = '';
  try { text = await response.text(); } catch { /* body already gone */ }
  try {
    const body = JSON.parse(text);
    const e = body && body.error;
    if (e && typeof e === 'object' && e.message) return new ApiError(response.status, e.message, e.type ?? null, e.code ?? null);
    if (typeof e === 'string') return new ApiError(response.status, e);
    if (body && body.message) return new ApiError(response.status, body.message);
  } catch { /* not JSON */ }
  const reason = text.trim() || response.statusText || 'no message';
  return new ApiError(response.status, `HTTP ${response.status}: ${reason}`);
}

// One prompt at a time: requests that hit 401 together all wait for the same answer.
let pendingPrompt = null;

/**
 * fetch() with the stored key; on 401 asks for a key and retries with it, asking again while the key is refused.
 * Resolves to the Response of the first non-401 answer; throws ApiError(401) when the person cancels.
 */
export async function apiFetch(path, init = {}) {
  for (;;) {
    const response = await fetch(path, { ...init, headers: authHeaders(init.headers || {}) });
    if (response.status !== 401) return response;
    const error = await errorFrom(response);
    const key = await askForKey(error.message);
    if (key === null) throw error;
    setApiKey(key);
  }
}

/** Shows the key dialog with the server's reason; resolves to the key, or null when cancelled. */
export function askForKey(reason) {
  if (pendingPrompt) return pendingPrompt;
  const dialog = document.getElementById('key-dialog');
  const input = document.getElementById('key-input');
  const form = document.getElementById('key-form');
  const cancel = document.getElementById('key-cancel');
  document.getElementById('key-reason').textContent =
    `The server answered: ${reason}. The key is kept in this tab's session storage only.`;
  input.value = '';
  pendingPrompt = new Promise(resolve => {
    const finish = value => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      pendingPrompt = null;
      document.dispatchEvent(new CustomEvent('apikeychange'));
      resolve(value);
    };
    const onSubmit = e => {
      e.preventDefault();
      const key = input.value.trim();
      if (key) finish(key);
    };
    const onCancel = e => { e.preventDefault(); finish(null); };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
  });
  return pendingPrompt;
}
