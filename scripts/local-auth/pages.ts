// Server-rendered HTML for the sign-in and consent steps. No scripts and no
// external assets, so the pages work offline; flow.ts (npm run token) submits
// the same forms without a browser, hidden fields included. Everything interpolated goes through `escapeHtml`:
// client names and scopes come from untrusted registrations and requests.

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;background:#f4f4f6;color:#1c1c24;margin:0;padding:40px 16px}
main{max-width:440px;margin:0 auto;background:#fff;border-radius:10px;padding:24px 28px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:20px;margin:0 0 4px}.muted{color:#6b6b76;font-size:13px}
form.choice{margin:10px 0}button{font:inherit;cursor:pointer;border-radius:6px;padding:8px 14px;border:1px solid #c9c9d2;background:#fff}
button.primary{background:#5b4fe9;border-color:#5b4fe9;color:#fff}
form.choice button{width:100%;text-align:left}.row{display:flex;gap:8px;margin-top:16px}
code{background:#f0f0f4;padding:1px 5px;border-radius:4px}.error{color:#b42318}
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · local auth</title><style>${STYLE}</style></head>
<body><main>${body}
<p class="muted">Local development authorization server. Not for production.</p></main></body>
</html>`;
}

function tokenField(token: string): string {
  return `<input type="hidden" name="form_token" value="${escapeHtml(token)}">\n`;
}

export interface SignInChoice {
  userId: string;
  userName: string;
  email: string;
  organizationId: string;
  organizationName: string;
  role: string;
}

/** Step 1: one button per (user, organization) membership. */
export function signInPage(input: {
  uid: string;
  /** The interaction's CSRF token, sent back with every form. */
  formToken: string;
  clientName: string;
  choices: SignInChoice[];
  error?: string;
}): string {
  const action = `/interaction/${encodeURIComponent(input.uid)}/login`;
  const forms = input.choices
    .map(
      (c) => `<form class="choice" method="post" action="${escapeHtml(action)}">
${tokenField(input.formToken)}<input type="hidden" name="user" value="${escapeHtml(c.userId)}">
<input type="hidden" name="org" value="${escapeHtml(c.organizationId)}">
<button type="submit"><strong>${escapeHtml(c.userName)}</strong> · ${escapeHtml(c.organizationName)}
<span class="muted">(${escapeHtml(c.role)}) ${escapeHtml(c.email)}</span></button></form>`,
    )
    .join('\n');
  const error = input.error ? `<p class="error">${escapeHtml(input.error)}</p>` : '';
  return layout(
    'Sign in',
    `<h1>Sign in</h1><p class="muted">to continue to <strong>${escapeHtml(input.clientName)}</strong>.
Pick a seeded user and the organization to act in.</p>${error}${forms}`,
  );
}

/** Step 2: what the client asked for, with Allow / Deny. */
export function consentPage(input: {
  uid: string;
  formToken: string;
  clientName: string;
  userId: string;
  userName: string;
  organizationId: string;
  organizationName: string;
  resources: string[];
  scopes: string[];
  ignoredScopes: string[];
}): string {
  const action = `/interaction/${encodeURIComponent(input.uid)}/confirm`;
  const scopes = input.scopes.length
    ? `<ul>${input.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>`
    : '<p class="error">No scopes this server offers were requested.</p>';
  const ignored = input.ignoredScopes.length
    ? `<p class="muted">Not offered, will not be granted: ${input.ignoredScopes
        .map((s) => `<code>${escapeHtml(s)}</code>`)
        .join(' ')}</p>`
    : '';
  const resources = input.resources.map((r) => `<code>${escapeHtml(r)}</code>`).join(', ');
  return layout(
    'Authorize',
    `<h1>Authorize ${escapeHtml(input.clientName)}</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> wants to access ${resources} as
<strong>${escapeHtml(input.userName)}</strong> in <strong>${escapeHtml(input.organizationName)}</strong>.</p>
<p>Requested permissions:</p>${scopes}${ignored}
<form method="post" action="${escapeHtml(action)}">
${tokenField(input.formToken)}<input type="hidden" name="user" value="${escapeHtml(input.userId)}">
<input type="hidden" name="org" value="${escapeHtml(input.organizationId)}">
<div class="row"><button class="primary" type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></div></form>`,
  );
}

export function errorPage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

/** An authorization request from a client_id this server does not know and could not restore. */
export function unknownClientPage(clientId: unknown): string {
  const id = typeof clientId === 'string' ? `<code>${escapeHtml(clientId.slice(0, 200))}</code>` : 'This client';
  return layout(
    'Unknown client',
    `<h1>Unknown client</h1><p>${id} is not registered with this authorization server: its registrations
were reset (for example <code>.local-auth/clients.json</code> was deleted) or this one was removed.</p>
<p>The application has to register again: remove its saved registration for this server, then start again from it.</p>`,
  );
}
