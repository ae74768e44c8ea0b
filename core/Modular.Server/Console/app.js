// Entry point: view switching (kept in the URL hash), API-key button, version, and the two views.

import { apiKey, askForKey, setApiKey } from './api.js';
import { initChat, loadModels } from './chat.js';
import { initDashboard, setDashboardVisible } from './dashboard.js';

const $ = id => document.getElementById(id);

function show(view) {
  for (const tab of document.querySelectorAll('[role=tab]')) {
    const selected = tab.dataset.view === view;
    tab.setAttribute('aria-selected', String(selected));
    $('view-' + tab.dataset.view).hidden = !selected;
  }
  setDashboardVisible(view === 'dashboard');
  if (location.hash !== '#' + view) history.replaceState(null, '', '#' + view);
}

function refreshKeyButton() {
  $('change-key').hidden = !apiKey();
}

async function loadVersion() {
  try {
    const r = await fetch('/version', { cache: 'no-store' });
    if (r.ok) $('server-status').dataset.version = (await r.json()).version ?? '';
    const brand = document.querySelector('.brand');
    if ($('server-status').dataset.version) brand.title = `modular ${$('server-status').dataset.version}`;
  } catch { /* the dashboard's status shows an unreachable server */ }
}

for (const tab of document.querySelectorAll('[role=tab]')) tab.addEventListener('click', () => show(tab.dataset.view));
$('change-key').addEventListener('click', async () => {
  const key = await askForKey('enter a new key, or cancel to keep the current one');
  if (key !== null) { setApiKey(key); loadModels(); }
});
document.addEventListener('apikeychange', refreshKeyButton);
refreshKeyButton();
show(location.hash === '#dashboard' ? 'dashboard' : 'chat');
initChat();
initDashboard();
loadVersion();
