"""The API's documentation as the gateway serves it: the OpenAPI document (proto/openapi.yaml) as JSON,
and /docs, one self-contained page (inline script and style allowed by hash in its own CSP) that renders
the operations from /openapi.json: nothing is fetched from elsewhere."""

from __future__ import annotations

import json

import yaml

from pm_gateway.domain.headers import docs_csp, script_hash


def openapi_json(document: str) -> bytes:
    """The OpenAPI document (YAML) as the JSON body of /openapi.json; ValueError when it is not YAML."""
    try:
        spec = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None
    return json.dumps(spec, default=str).encode()


_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 2rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}code,pre{font:13px ui-monospace,monospace}pre{background:#f6f6f6;padding:.5rem;overflow:auto}
.m{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.put,.patch{color:#a60}.delete{color:#c22}.lock{color:#888}
"""

_SCRIPT = """
(async () => {
  const root = document.getElementById('api');
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    kids.forEach(k => e.append(k));
    return e;
  };
  let spec;
  try {
    const r = await fetch('/openapi.json', {headers: {Accept: 'application/json'}});
    if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
    spec = await r.json();
  } catch (err) { root.append(el('p', {}, 'Cannot load /openapi.json: ' + err)); return; }
  document.title = (spec.info && spec.info.title) || 'API';
  root.append(el('h1', {}, document.title + ' ' + ((spec.info && spec.info.version) || '')));
  if (spec.info && spec.info.description) root.append(el('p', {}, spec.info.description));
  root.append(el('p', {}, el('a', {href: '/openapi.json'}, 'openapi.json')));
  const groups = {};
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || 'other';
      (groups[tag] = groups[tag] || []).push([method, path, op, item]);
    }
  }
  for (const [tag, ops] of Object.entries(groups)) {
    root.append(el('h2', {}, tag));
    for (const [method, path, op, item] of ops) {
      const secured = (op.security || spec.security || []).length > 0;
      const head = el('summary', {}, el('span', {class: 'm ' + method}, method), el('code', {}, path), ' ',
                      op.summary || '', secured ? el('span', {class: 'lock'}, ' (bearer)') : '');
      const body = el('div', {});
      if (op.description) body.append(el('p', {}, op.description));
      const params = [...(item.parameters || []), ...(op.parameters || [])];
      if (params.length) body.append(el('pre', {}, params.map(p => p.$ref || (p.in + ' ' + p.name + (p.required ? ' (required)' : ''))).join('\\n')));
      if (op.requestBody) body.append(el('pre', {}, 'body: ' + JSON.stringify(op.requestBody.content || op.requestBody, null, 1)));
      body.append(el('pre', {}, Object.entries(op.responses || {}).map(([s, r]) => s + ' ' + (r.description || r.$ref || '')).join('\\n')));
      root.append(el('details', {}, head, body));
    }
  }
})();
"""

DOCS_HTML = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>API</title>'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f'<style>{_STYLE}</style></head><body><main id="api"></main><script>{_SCRIPT}</script></body></html>'
)
DOCS_CSP = docs_csp([script_hash(_SCRIPT)], [script_hash(_STYLE)])
