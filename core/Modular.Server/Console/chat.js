// The chat view: model list, sampling settings, guided-output schema, streamed conversation, stop.

import { apiFetch, errorFrom, ApiError } from './api.js';
import { readEvents } from './sse.js';

const $ = id => document.getElementById(id);

/** The conversation sent with every request: {role, content} in order, finished turns only. */
const history = [];
let controller = null;

export function initChat() {
  $('composer').addEventListener('submit', e => { e.preventDefault(); send(); });
  $('prompt').addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  $('stop').addEventListener('click', () => controller?.abort());
  $('clear').addEventListener('click', () => {
    controller?.abort();
    history.length = 0;
    $('log').replaceChildren();
    $('chat-stats').textContent = '';
  });
  $('schema').addEventListener('input', () => { readSchema(); });
  loadModels();
}

/** Fills the model picker from GET /v1/models (asks for the API key when the server wants one). */
export async function loadModels() {
  const select = $('model');
  try {
    const response = await apiFetch('/v1/models');
    if (!response.ok) throw await errorFrom(response);
    const body = await response.json();
    const previous = select.value;
    select.replaceChildren();
    for (const m of body.data || []) {
      const option = document.createElement('option');
      option.value = m.id;
      option.textContent = m.max_model_len ? `${m.id} (ctx ${m.max_model_len})` : m.id;
      select.appendChild(option);
    }
    if (previous && [...select.options].some(o => o.value === previous)) select.value = previous;
    select.dataset.loaded = 'true';
  } catch (e) {
    showNotice(`Could not list models: ${e.message}`);
  }
}

/** Parses the schema box: null when empty, the schema object when valid; shows the problem otherwise. */
function readSchema() {
  const text = $('schema').value.trim();
  const out = $('schema-error');
  out.hidden = true;
  if (!text) return { schema: null };
  try {
    const schema = JSON.parse(text);
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
      throw new Error('the schema must be a JSON object');
    return { schema };
  } catch (e) {
    out.textContent = `JSON schema: ${e.message}`;
    out.hidden = false;
    return { error: e.message };
  }
}

/** The request body from the settings panel; throws Error naming the field that is wrong. */
function buildRequest(messages) {
  const body = { model: $('model').value, messages, stream: true, stream_options: { include_usage: true } };
  const number = (id, field, integer) => {
    const raw = $(id).value.trim();
    if (raw === '') return;
    const v = Number(raw);
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) throw new Error(`${field}: '${raw}' is not ${integer ? 'an integer' : 'a number'}`);
    body[field] = v;
  };
  number('temperature', 'temperature', false);
  number('top-p', 'top_p', false);
  number('max-tokens', 'max_tokens', true);
  number('seed', 'seed', true);
  const { schema, error } = readSchema();
  if (error) throw new Error(`JSON schema: ${error}`);
  if (schema) {
    // OpenAI wants a name of letters, digits, '_' or '-'; the schema's title is the natural one when it fits.
    const name = typeof schema.title === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(schema.title) ? schema.title : 'console_output';
    body.response_format = { type: 'json_schema', json_schema: { name, schema, strict: true } };
  }
  return body;
}

function addMessage(role, text) {
  const item = document.createElement('div');
  item.className = `msg ${role}`;
  const who = document.createElement('div');
  who.className = 'role';
  who.textContent = role;
  const content = document.createElement('div');
  content.className = 'content';
  content.textContent = text;
  item.append(who, content);
  $('log').appendChild(item);
  item.scrollIntoView({ block: 'end' });
  return item;
}

function showNotice(text) {
  const item = addMessage('error', text);
  item.dataset.state = 'error';
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop').disabled = !busy;
}

async function send() {
  if (controller) return;
  const text = $('prompt').value.trim();
  if (!text) return;
  const system = $('system').value.trim();
  const messages = [...(system ? [{ role: 'system', content: system }] : []), ...history, { role: 'user', content: text }];
  let body;
  try {
    body = buildRequest(messages);
  } catch (e) {
    showNotice(e.message);
    return;
  }
  $('prompt').value = '';
  const userItem = addMessage('user', text);
  const item = addMessage('assistant', '');
  item.dataset.state = 'waiting';
  const content = item.querySelector('.content');
  const reasoning = document.createElement('div');
  reasoning.className = 'reasoning';
  controller = new AbortController();
  setBusy(true);
  const started = performance.now();
  let firstAt = 0, usage = null, finish = null, deltas = 0;
  try {
    const response = await apiFetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) throw await errorFrom(response);
    item.dataset.state = 'streaming';
    for await (const data of readEvents(response)) {
      if (data === '[DONE]') break;
      const event = JSON.parse(data);
      if (event.error) throw new ApiError(event.error.code ?? 500, event.error.message ?? JSON.stringify(event.error), event.error.type);
      if (event.usage) usage = event.usage;
      for (const choice of event.choices || []) {
        if (choice.index !== undefined && choice.index !== 0) continue;
        const delta = choice.delta || {};
        const thought = delta.reasoning_content ?? delta.reasoning;
        if (thought) {
          if (!reasoning.isConnected) item.insertBefore(reasoning, content);
          reasoning.textContent += thought;
        }
        if (delta.content) {
          if (!firstAt) firstAt = performance.now();
          content.textContent += delta.content;
          deltas++;
          item.dataset.deltas = String(deltas);
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    item.dataset.state = 'done';
    history.push({ role: 'user', content: text }, { role: 'assistant', content: content.textContent });
  } catch (e) {
    if (e.name === 'AbortError') {
      item.dataset.state = 'stopped';
      finish = 'stopped';
      // A stopped answer still belongs to the conversation, as far as it got.
      history.push({ role: 'user', content: text }, { role: 'assistant', content: content.textContent });
    } else {
      item.dataset.state = 'error';
      item.classList.add('failed');
      const error = document.createElement('div');
      error.className = 'error-text';
      error.textContent = e instanceof ApiError ? `${e.message}${e.type ? ` (${e.type}, HTTP ${e.status})` : ''}` : String(e.message || e);
      item.appendChild(error);
      // A request the server refused is not part of the conversation: resending should not repeat it.
      if (!content.textContent) { userItem.classList.add('failed'); }
    }
  } finally {
    controller = null;
    setBusy(false);
    const secs = (performance.now() - started) / 1000;
    const tokens = usage ? usage.completion_tokens : deltas;
    const parts = [`${tokens} tokens${usage ? '' : ' (deltas)'} in ${secs.toFixed(2)} s`];
    if (firstAt) parts.push(`first after ${((firstAt - started) / 1000).toFixed(2)} s`);
    if (firstAt && tokens > 1) parts.push(`${(tokens / secs).toFixed(1)} tok/s`);
    if (finish) parts.push(`finish: ${finish}`);
    $('chat-stats').textContent = parts.join(' · ');
    item.dataset.finish = finish ?? '';
    $('prompt').focus();
  }
}
