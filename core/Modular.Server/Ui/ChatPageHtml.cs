namespace Modular.Server.Ui;

/// <summary>A one-file chat page (no external assets) that streams from /v1/chat/completions.</summary>
internal static class ChatPageHtml
{
    public const string Text = """
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>modular</title>
<style>
 body { font: 15px system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
 #log div { white-space: pre-wrap; margin: .5rem 0; padding: .5rem .75rem; border-radius: 6px; }
 .user { background: #eef; } .assistant { background: #f4f4f4; } .error { background: #fee; }
 form { display: flex; gap: .5rem; } textarea { flex: 1; height: 4rem; font: inherit; }
 header { display: flex; gap: 1rem; align-items: center; margin-bottom: 1rem; } small { color: #666; }
</style>
</head>
<body>
<header><strong>modular</strong>
 <label>model <select id="model"></select></label>
 <label>API key <input id="key" type="password" size="14"></label>
 <small id="stats"></small></header>
<div id="log"></div>
<form id="form"><textarea id="input" placeholder="Say something"></textarea><button>Send</button></form>
<script>
const messages = [];
const log = document.getElementById('log');
function headers() {
  const h = { 'Content-Type': 'application/json' };
  const k = document.getElementById('key').value;
  if (k) h['Authorization'] = 'Bearer ' + k;
  return h;
}
function add(role, text) {
  const d = document.createElement('div'); d.className = role; d.textContent = text; log.appendChild(d); return d;
}
async function loadModels() {
  const r = await fetch('/v1/models', { headers: headers() });
  if (!r.ok) return;
  const sel = document.getElementById('model'); sel.innerHTML = '';
  for (const m of (await r.json()).data) { const o = document.createElement('option'); o.textContent = m.id; sel.appendChild(o); }
}
document.getElementById('key').addEventListener('change', loadModels);
document.getElementById('form').addEventListener('submit', async e => {
  e.preventDefault();
  const input = document.getElementById('input');
  const text = input.value.trim(); if (!text) return; input.value = '';
  messages.push({ role: 'user', content: text }); add('user', text);
  const out = add('assistant', ''); const started = performance.now(); let first = 0, tokens = 0;
  try {
    const r = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify({
      model: document.getElementById('model').value, messages, stream: true, max_tokens: 256,
      stream_options: { include_usage: true } }) });
    if (!r.ok) { out.className = 'error'; out.textContent = (await r.json()).error.message; messages.pop(); return; }
    const reader = r.body.getReader(); const dec = new TextDecoder(); let buf = '';
    for (;;) {
      const { value, done } = await reader.read(); if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const ev = JSON.parse(line.slice(6));
        if (ev.error) { out.className = 'error'; out.textContent += ev.error.message; continue; }
        if (ev.usage) tokens = ev.usage.completion_tokens;
        for (const c of ev.choices) if (c.delta && c.delta.content) { if (!first) first = performance.now(); out.textContent += c.delta.content; }
      }
    }
    messages.push({ role: 'assistant', content: out.textContent });
    const secs = (performance.now() - started) / 1000;
    document.getElementById('stats').textContent = `${tokens} tokens, first after ${((first - started) / 1000).toFixed(2)} s, ${(tokens / secs).toFixed(1)} tok/s`;
  } catch (err) { out.className = 'error'; out.textContent = String(err); }
});
loadModels();
</script>
</body>
</html>
""";
}
