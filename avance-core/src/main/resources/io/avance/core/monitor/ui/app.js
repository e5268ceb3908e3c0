// The Avance monitor page: renders the pair snapshot that /api/events pushes, and sends actions
// with the session's CSRF token. Everything is built with textContent, never innerHTML, so that
// names and descriptions from the pair cannot inject markup.
'use strict';

let session = null;
let latest = null;

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.substring(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

function duration(seconds) {
  if (seconds < 0) return 'unknown';
  if (seconds < 90) return Math.round(seconds) + ' s';
  if (seconds < 5400) return Math.round(seconds / 60) + ' min';
  return (seconds / 3600).toFixed(1) + ' h';
}

function percent(fraction) {
  return (fraction * 100).toFixed(fraction >= 0.9999 ? 4 : 3) + ' %';
}

function toast(text, error) {
  const box = document.getElementById('toast');
  box.textContent = text;
  box.className = 'toast' + (error ? ' error' : '');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.add('hidden'), 8000);
}

function confirmAction(title, text, okLabel) {
  return new Promise(resolve => {
    document.getElementById('modal-title').textContent = title;
    document.getElementById('modal-text').textContent = text;
    const ok = document.getElementById('modal-ok');
    ok.textContent = okLabel;
    const modal = document.getElementById('modal');
    modal.classList.remove('hidden');
    const done = answer => {
      modal.classList.add('hidden');
      ok.onclick = null;
      document.getElementById('modal-cancel').onclick = null;
      resolve(answer);
    };
    ok.onclick = () => done(true);
    document.getElementById('modal-cancel').onclick = () => done(false);
  });
}

async function act(path, parameters) {
  const response = await fetch(path, {
    method: 'POST',
    headers: {'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': session.csrf},
    body: new URLSearchParams(parameters || {}).toString(),
    credentials: 'same-origin'
  });
  if (response.status === 401) { location.reload(); return; }
  const body = await response.json().catch(() => ({}));
  const text = body.outcome || body.error || ('HTTP ' + response.status);
  toast(text, !response.ok);
  loadJournal();
  return body;
}

function roleBadge(role) {
  const cls = role === 'primary' ? 'primary' : role === 'backup' ? 'backup'
      : role.startsWith('unreachable') || role === 'isolated' ? 'bad' : '';
  return el('span', {class: 'badge ' + cls}, role);
}

function renderNodes(pair) {
  const box = document.getElementById('nodes');
  box.replaceChildren();
  for (const node of pair.nodes) {
    const faults = el('table', {class: 'faults'},
        el('thead', {}, el('tr', {}, el('th', {}, 'Component'), el('th', {}, 'Where'), el('th', {}, 'Severity'),
            el('th', {}, 'What'), el('th', {}, ''))));
    const body = el('tbody');
    for (const fault of node.faults) {
      const severity = (fault.predicted ? 'predicted ' : '') + fault.severity;
      let ack = null;
      if (fault.acknowledgedBy) ack = el('span', {class: 'muted'}, 'acknowledged by ' + fault.acknowledgedBy);
      else if (node.self) ack = el('button', {class: 'small secondary', onclick: () =>
          act('/api/fault/acknowledge', {component: fault.component, location: fault.location})}, 'Acknowledge');
      body.append(el('tr', {class: 'fault'}, el('td', {}, fault.componentLabel), el('td', {}, fault.location),
          el('td', {class: fault.severity === 'critical' ? 'bad' : 'warn'}, severity), el('td', {}, fault.description),
          el('td', {}, ack)));
    }
    if (node.faults.length === 0) body.append(el('tr', {}, el('td', {colspan: 5, class: 'ok'}, 'no faults')));
    faults.append(body);
    const scoreClass = node.score >= 1000 ? 'ok' : node.score >= 500 ? 'warn' : 'bad';
    box.append(el('div', {class: 'node' + (node.role === 'primary' ? ' primary' : ''), id: 'node-' + node.id,
            'data-role': node.role},
        el('h3', {}, 'Node ' + node.id + ' ', roleBadge(node.role), node.self ? el('span', {class: 'muted'}, ' (this node)') : null,
            node.maintenance ? el('span', {class: 'badge warn'}, 'maintenance') : null,
            node.declaredDown ? el('span', {class: 'badge bad'}, 'declared down') : null),
        el('div', {}, 'Health ', el('span', {class: 'score ' + scoreClass}, node.score === undefined ? '?' : node.score),
            el('span', {class: 'muted'}, ' / 1000'), '   data: ' + (node.data || 'unknown')),
        faults));
  }
}

function renderPaths(pair) {
  const body = document.querySelector('#paths tbody');
  body.replaceChildren();
  for (const path of pair.paths) {
    const mark = up => el('span', {class: up ? 'ok' : 'bad'}, up ? 'up' : 'down');
    body.append(el('tr', {}, el('td', {}, path.name), el('td', {}, path.kind), el('td', {}, mark(path.localUp)),
        el('td', {}, mark(path.peerLocalUp)), el('td', {}, mark(path.peerAlive)),
        el('td', {}, path.silenceMillis < 0 ? 'never heard' : path.silenceMillis + ' ms')));
  }
}

function renderVms(pair) {
  const body = document.querySelector('#vms tbody');
  body.replaceChildren();
  for (const vm of pair.vms) {
    let migration = '';
    if (vm.migration) {
      migration = el('span', {}, el('span', {class: 'bar'}, el('span', {style: null})), ' ' + vm.migration.phase
          + ' round ' + vm.migration.round + ', ' + bytes(vm.migration.bytesSent) + ' sent');
      migration.querySelector('.bar > span').style.width = Math.round(vm.migration.percent) + '%';
    }
    body.append(el('tr', {id: 'vm-' + vm.name, 'data-state': vm.state},
        el('td', {}, vm.name), el('td', {class: vm.state === 'running' ? 'ok' : vm.state === 'crashed' || vm.state === 'failed' ? 'bad' : ''}, vm.state),
        el('td', {class: 'vm-node'}, vm.node || '-'), el('td', {}, vm.cores), el('td', {}, bytes(vm.memoryBytes)),
        el('td', {}, vm.disks.join(', ')), el('td', {}, migration),
        el('td', {},
            el('button', {class: 'small secondary', onclick: async () => {
              if (await confirmAction('Restart VM ' + vm.name, 'VM ' + vm.name + ' will be shut down and started again on the primary. Work in progress inside it is lost.', 'Restart'))
                act('/api/vm/restart', {vm: vm.name});
            }}, 'Restart'), ' ',
            el('button', {class: 'small secondary', onclick: async () => {
              if (await confirmAction('Migrate VMs to the peer', 'VMs run on the primary and move with it: this is a planned switchover that live-migrates every VM (not only ' + vm.name + ') to the other node, which then becomes primary.', 'Migrate all VMs'))
                act('/api/vm/migrate', {vm: vm.name});
            }}, 'Migrate VMs to the peer (switchover)'),
            session.role === 'administrator' && (vm.state === 'stopped' || vm.state === 'defined'
                || vm.state === 'failed') ? el('span', {}, ' ', el('button', {class: 'small danger', onclick: async () => {
              if (await confirmAction('Delete VM ' + vm.name, 'VM ' + vm.name + ' and its disks (' + vm.disks.join(', ')
                  + ') are deleted on both nodes. This cannot be undone.', 'Delete'))
                act('/api/vm/delete', {vm: vm.name});
            }}, 'Delete')) : '')));
  }
  if (pair.vms.length === 0) body.append(el('tr', {}, el('td', {colspan: 8, class: 'muted'}, 'no VMs')));
}

function renderVolumes(pair) {
  const body = document.querySelector('#volumes tbody');
  body.replaceChildren();
  const self = pair.node;
  const peer = (pair.nodes.find(n => !n.self) || {}).id;
  for (const volume of pair.volumes) {
    let resync = '';
    if (volume.resync) {
      resync = el('span', {}, el('span', {class: 'bar'}, el('span')), ' ' + volume.resync.percent.toFixed(1) + ' %, ETA '
          + duration(volume.resync.etaSeconds) + ' at ' + bytes(volume.resync.rateBytesPerSecond) + '/s');
      resync.querySelector('.bar > span').style.width = Math.round(volume.resync.percent) + '%';
    }
    const verify = volume.verify ? (volume.verify.mismatches === 0 ? 'identical (' + volume.verify.blocksCompared + ' blocks)'
        : volume.verify.mismatches + ' blocks differ' + (volume.verify.markedForResync ? ', marked for resync' : '')) : 'never';
    const actions = el('td', {}, el('button', {class: 'small secondary', onclick: () => act('/api/volume/verify', {volume: volume.name})}, 'Verify'));
    if (volume.splitBrain) {
      for (const discard of [self, peer].filter(Boolean)) {
        const keep = discard === self ? peer : self;
        actions.append(' ', el('button', {class: 'small danger', onclick: async () => {
          const text = 'Split brain on volume ' + volume.name + ': both nodes changed it while they could not reach each other. '
              + 'Discarding node ' + discard + "'s side LOSES every write made to " + volume.name + ' on node ' + discard
              + ' since the split; its copy is overwritten from node ' + keep + '. '
              + (discard === self ? 'This node has ' + bytes(volume.dirtyBytes) + ' marked as changed.' : '')
              + ' This cannot be undone.';
          if (await confirmAction('Discard node ' + discard + "'s changes?", text, 'Discard ' + discard + "'s changes"))
            act('/api/volume/resolve', {volume: volume.name, discard: discard});
        }}, 'Discard ' + discard + "'s changes"));
      }
    }
    body.append(el('tr', {id: 'volume-' + volume.name},
        el('td', {}, volume.name), el('td', {}, bytes(volume.sizeBytes)),
        el('td', {class: volume.splitBrain ? 'bad' : volume.state === 'synced' ? 'ok' : 'warn'}, volume.state),
        el('td', {}, volume.localData), el('td', {}, volume.peerData), el('td', {}, bytes(volume.dirtyBytes)),
        el('td', {}, resync), el('td', {}, verify), actions));
  }
  if (pair.volumes.length === 0) body.append(el('tr', {}, el('td', {colspan: 9, class: 'muted'}, 'no volumes')));
}

function renderAvailability(pair) {
  const a = pair.availability;
  const box = document.getElementById('availability');
  const outages = el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Outage from'), el('th', {}, 'to'),
      el('th', {}, 'lasted'), el('th', {}, 'cause'))));
  const body = el('tbody');
  for (const outage of a.outages) {
    body.append(el('tr', {}, el('td', {}, new Date(outage.start).toLocaleString()), el('td', {}, new Date(outage.end).toLocaleString()),
        el('td', {}, duration(outage.seconds)), el('td', {}, outage.cause)));
  }
  if (a.outages.length === 0) body.append(el('tr', {}, el('td', {colspan: 4, class: 'ok'}, 'no outage recorded')));
  outages.append(body);
  box.replaceChildren(
      el('div', {}, 'Last 30 days: ', el('b', {id: 'availability-30'}, percent(a.last30Days)),
          el('span', {class: 'muted'}, ' (down ' + duration(a.downtime30DaysSeconds) + ')')),
      el('div', {}, 'Last 365 days: ', el('b', {id: 'availability-365'}, percent(a.last365Days)),
          el('span', {class: 'muted'}, ' (down ' + duration(a.downtime365DaysSeconds) + ')')),
      el('div', {class: 'muted'}, 'recorded since ' + new Date(a.since).toLocaleString()
          + (pair.pair.inOutage ? ' - OUTAGE UNDER WAY' : '')),
      outages);
}

function renderEvents(pair) {
  const list = document.getElementById('events');
  list.replaceChildren();
  for (const event of pair.events) {
    list.append(el('li', {class: event.level}, new Date(event.time).toLocaleTimeString() + '  ' + event.text));
  }
}

function render(pair) {
  latest = pair;
  const primary = pair.nodes.find(n => n.role === 'primary');
  document.getElementById('pair-title').textContent = 'pair ' + pair.nodes.map(n => n.id).join(' + ')
      + (primary ? ' - primary ' + primary.id : ' - no primary');
  const self = pair.nodes.find(n => n.self);
  document.getElementById('btn-maintenance').textContent = self && self.maintenance ? 'Maintenance off' : 'Maintenance on';
  renderNodes(pair);
  renderPaths(pair);
  renderVms(pair);
  renderVolumes(pair);
  renderAvailability(pair);
  renderEvents(pair);
}

async function loadJournal() {
  const parameters = new URLSearchParams({limit: '100'});
  for (const [name, id] of [['actor', 'filter-actor'], ['action', 'filter-action'], ['text', 'filter-text']]) {
    const value = document.getElementById(id).value.trim();
    if (value) parameters.set(name, value);
  }
  const response = await fetch('/api/journal?' + parameters, {credentials: 'same-origin'});
  if (response.status === 401) { location.reload(); return; }
  const entries = await response.json();
  const body = document.querySelector('#journal tbody');
  body.replaceChildren();
  for (const entry of entries) {
    body.append(el('tr', {class: 'journal-entry'}, el('td', {}, new Date(entry.time).toLocaleString()), el('td', {}, entry.node),
        el('td', {}, entry.actor), el('td', {}, entry.action), el('td', {}, entry.detail), el('td', {}, entry.outcome)));
  }
}

function connect() {
  const events = new EventSource('/api/events');
  const live = document.getElementById('live');
  events.addEventListener('pair', message => {
    live.textContent = 'live';
    live.className = 'live on';
    render(JSON.parse(message.data));
  });
  events.addEventListener('expired', () => { events.close(); location.reload(); });
  events.onerror = async () => {
    live.textContent = 'reconnecting';
    live.className = 'live off';
    const check = await fetch('/api/session', {credentials: 'same-origin'}).catch(() => null);
    if (check && check.status === 401) { events.close(); location.reload(); }
  };
}

async function start() {
  const response = await fetch('/api/session', {credentials: 'same-origin'});
  if (response.status === 401) { location.reload(); return; }
  session = await response.json();
  document.getElementById('who').textContent = session.user + ' (' + session.role + ') on node ' + session.node;
  if (session.role === 'viewer') {
    document.getElementById('role-note').textContent = 'You are a viewer: the monitor refuses your actions.';
  }
  document.getElementById('btn-logout').onclick = async () => { await act('/logout'); location.reload(); };
  document.getElementById('btn-switchover').onclick = async () => {
    const other = latest && latest.nodes.find(n => !n.self);
    if (await confirmAction('Planned switchover', 'Every VM live-migrates to node ' + (other ? other.id : 'the peer')
        + ', which then becomes primary. VMs pause for a moment; nothing is lost.', 'Switch over'))
      act('/api/switchover', {reason: 'planned switchover'});
  };
  document.getElementById('btn-maintenance').onclick = () => {
    const self = latest && latest.nodes.find(n => n.self);
    act('/api/maintenance', {on: self && self.maintenance ? 'false' : 'true'});
  };
  document.getElementById('journal-filter').onsubmit = event => { event.preventDefault(); loadJournal(); };
  const create = document.getElementById('vm-create');
  if (session.role !== 'administrator') {
    create.hidden = true;
  }
  create.onsubmit = async event => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(create).entries());
    if (await confirmAction('Create VM ' + fields.name, 'VM ' + fields.name + ' gets a replicated disk of ' + fields.disk
        + (fields.image ? ', filled from ' + fields.image + ',' : '') + ' and starts on the primary.', 'Create'))
      act('/api/vm/create', fields);
  };
  connect();
  loadJournal();
  setInterval(loadJournal, 10000);
}

document.addEventListener('DOMContentLoaded', start);
