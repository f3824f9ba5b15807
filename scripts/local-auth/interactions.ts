// The sign-in + consent interaction that oidc-provider hands off to us.
//
//   GET  /interaction/:uid          step 1: pick a (user, organization) membership
//   POST /interaction/:uid/login    validates the pick, renders step 2 (consent)
//   POST /interaction/:uid/confirm  Allow -> grant exactly the requested scopes
//                                   Deny  -> access_denied back to the client
//
// CSRF defence, in layers: oidc-provider binds each interaction to a
// SameSite=Lax cookie scoped to /interaction/:uid, so a cross-site form POST
// arrives without it; every form carries a token derived from the interaction
// (formToken); and a POST whose Origin is not this server's own is refused.
// The pages send `Referrer-Policy: same-origin` so browsers send the real
// Origin on their own form POSTs (with `no-referrer` they send `Origin: null`).
// The server only answers to its own loopback names (server.ts, hosts.ts) and
// serves these pages on the issuer's name only.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Grant, Interaction, Provider } from 'oidc-provider';
import {
  displayName,
  findMembership,
  findOrganization,
  findUser,
  membershipsOf,
  users,
  type Organization,
  type User,
} from './directory';
import { consentPage, errorPage, signInPage, type SignInChoice } from './pages';

/** What the access token needs beyond oidc-provider's Grant: org and consent id. */
export interface GrantContext {
  organizationId: string;
  consentId: string;
  /** Whose consent it is: what `npm run revoke -- --user` finds. */
  userId: string;
}

export interface InteractionDeps {
  provider: Provider;
  /** Resource scopes offered now (opts.scopes, asked at each step: they may change while the server runs). */
  offeredScopes: () => Promise<ReadonlySet<string>>;
  /** OIDC scopes the provider knows (openid, profile, ...). */
  oidcScopes: ReadonlySet<string>;
  /** grantId -> context, read by extraTokenClaims. */
  grantContexts: Map<string, GrantContext>;
  /** The issuer's origin, where the pages are served; a browser POST from any other is refused. */
  issuerOrigin: string;
  log: (line: string) => void;
}

const MAX_FORM_BYTES = 16 * 1024;

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  // Not no-referrer: that makes browsers send `Origin: null` on the page's own forms.
  'referrer-policy': 'same-origin',
} as const;

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new HttpError(415, 'Expected an HTML form submission.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_FORM_BYTES) throw new HttpError(413, 'Form submission too large.');
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// Browsers send Origin on every form POST; it must be this server's own.
// `null` (an opaque origin: sandboxed frames, data: URLs, privacy modes) is
// never ours. Clients without a browser (npm run token, tests) send none; the
// cookie and the form token still bind their POSTs to the interaction.
function assertSameOrigin(req: IncomingMessage, issuerOrigin: string): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (origin !== issuerOrigin) {
    throw new HttpError(403, 'Cross-site form submission refused.');
  }
}

function paramString(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : undefined;
}

function paramList(params: Record<string, unknown>, name: string): string[] {
  const value = params[name];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function requestedScopes(interaction: Interaction): string[] {
  return [...new Set((paramString(interaction.params, 'scope') ?? '').split(' ').filter(Boolean))];
}

function allChoices(): SignInChoice[] {
  return users.flatMap((user) =>
    membershipsOf(user.id).flatMap((m) => {
      const org = findOrganization(m.organizationId);
      return org
        ? [
            {
              userId: user.id,
              userName: displayName(user),
              email: user.email,
              organizationId: org.id,
              organizationName: org.name,
              role: m.role.slug,
            },
          ]
        : [];
    }),
  );
}

/** Resolves the posted user/org pair; only real memberships are accepted. */
function resolvePick(form: URLSearchParams): { user: User; org: Organization } {
  const user = findUser(form.get('user') ?? '');
  const org = findOrganization(form.get('org') ?? '');
  if (!user || !org || !findMembership(user.id, org.id)) {
    throw new HttpError(400, 'Pick one of the listed users and organizations.');
  }
  return { user, org };
}

export function createInteractionHandler(deps: InteractionDeps) {
  const { provider, offeredScopes, oidcScopes, grantContexts, issuerOrigin, log } = deps;

  // A token per interaction for its forms: an HMAC of the uid under a key made
  // at start, so it needs no storage and is worthless for any other interaction.
  const formKey = randomBytes(32);
  const formToken = (uid: string): string =>
    createHmac('sha256', formKey).update(`interaction-form:${uid}`).digest('base64url');
  function assertFormToken(uid: string, form: URLSearchParams): void {
    const expected = Buffer.from(formToken(uid));
    const sent = Buffer.from(form.get('form_token') ?? '');
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      throw new HttpError(
        403,
        'This form has expired or did not come from this sign-in page. Start again from the client.',
      );
    }
  }

  async function clientName(interaction: Interaction): Promise<string> {
    const clientId = paramString(interaction.params, 'client_id') ?? '';
    const client = await provider.Client.find(clientId);
    return client?.clientName || clientId;
  }

  // Reuse the grant oidc-provider loaded for this client only when it belongs
  // to the same user and organization; a different pick is a different consent.
  async function grantFor(interaction: Interaction, user: User, org: Organization) {
    if (interaction.grantId) {
      const existing = await provider.Grant.find(interaction.grantId);
      const context = grantContexts.get(interaction.grantId);
      if (existing && existing.accountId === user.id && context?.organizationId === org.id) {
        return { grant: existing, context };
      }
    }
    const clientId = paramString(interaction.params, 'client_id') ?? '';
    const grant: Grant = new provider.Grant({ accountId: user.id, clientId });
    const context: GrantContext = {
      userId: user.id,
      organizationId: org.id,
      consentId: `consent_${randomBytes(12).toString('base64url')}`,
    };
    return { grant, context };
  }

  async function confirm(
    req: IncomingMessage,
    res: ServerResponse,
    interaction: Interaction,
    form: URLSearchParams,
  ): Promise<void> {
    const decision = form.get('decision');
    if (decision === 'deny') {
      log(`consent denied for client ${paramString(interaction.params, 'client_id') ?? '?'}`);
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User denied the authorization request' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (decision !== 'allow') throw new HttpError(400, 'Choose Allow or Deny.');

    const { user, org } = resolvePick(form);
    const { grant, context } = await grantFor(interaction, user, org);

    // Grant exactly what was requested (intersected with what is offered), so
    // a client that asked for less gets less and must step up for more.
    const scopes = requestedScopes(interaction);
    const offered = await offeredScopes();
    const oidc = scopes.filter((s) => oidcScopes.has(s));
    const resourceScopes = scopes.filter((s) => offered.has(s));
    if (oidc.length) grant.addOIDCScope(oidc);
    if (resourceScopes.length) {
      for (const resource of paramList(interaction.params, 'resource')) {
        grant.addResourceScope(resource, resourceScopes);
      }
    }
    const grantId = await grant.save();
    grantContexts.set(grantId, context);

    log(
      `${user.handle} (${org.id}) allowed client ${paramString(interaction.params, 'client_id') ?? '?'}: ${
        [...oidc, ...resourceScopes].join(' ') || '(no scopes)'
      }`,
    );
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.id }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?$/.exec(path);
    if (!match) throw new HttpError(404, 'Not found.');
    const [, uid, step] = match;

    let interaction: Interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch {
      throw new HttpError(
        400,
        'This sign-in request expired or was opened in another browser. Start again from the client.',
      );
    }
    if (interaction.uid !== uid) throw new HttpError(400, 'Interaction mismatch. Start again from the client.');

    if (step === undefined) {
      if (req.method !== 'GET') throw new HttpError(405, 'Method not allowed.');
      sendHtml(
        res,
        200,
        signInPage({
          uid,
          formToken: formToken(uid),
          clientName: await clientName(interaction),
          choices: allChoices(),
        }),
      );
      return;
    }

    if (req.method !== 'POST') throw new HttpError(405, 'Method not allowed.');
    assertSameOrigin(req, issuerOrigin);
    const form = await readForm(req);
    assertFormToken(uid, form);
    const token = formToken(uid);

    if (step === 'login') {
      let pick: { user: User; org: Organization };
      try {
        pick = resolvePick(form);
      } catch (error) {
        const message = error instanceof Error ? error.message : 'Invalid choice.';
        sendHtml(
          res,
          400,
          signInPage({
            uid,
            formToken: token,
            clientName: await clientName(interaction),
            choices: allChoices(),
            error: message,
          }),
        );
        return;
      }
      const scopes = requestedScopes(interaction);
      const offered = await offeredScopes();
      sendHtml(
        res,
        200,
        consentPage({
          uid,
          formToken: token,
          clientName: await clientName(interaction),
          userId: pick.user.id,
          userName: displayName(pick.user),
          organizationId: pick.org.id,
          organizationName: pick.org.name,
          resources: paramList(interaction.params, 'resource'),
          scopes: scopes.filter((s) => offered.has(s) || oidcScopes.has(s)),
          ignoredScopes: scopes.filter((s) => !offered.has(s) && !oidcScopes.has(s)),
        }),
      );
      return;
    }

    await confirm(req, res, interaction, form);
  }

  return async function handleInteraction(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    try {
      await route(req, res, path);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendHtml(res, error.status, errorPage('Sign-in problem', error.message));
        return;
      }
      log(`interaction error: ${error instanceof Error ? error.message : String(error)}`);
      sendHtml(res, 500, errorPage('Something went wrong', 'See the local auth server log.'));
    }
  };
}
