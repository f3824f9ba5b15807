import { authorizeOverHttp } from '../../scripts/local-auth/flow';

/**
 * An OAuth client provider for the MCP SDK clients (v2 and v1 share this shape), kept in memory.
 * When the SDK "redirects" the user to the authorization endpoint, it signs in as the chosen
 * user over plain HTTP (the local server's sign-in and consent forms; no browser) and keeps the
 * callback URL so the test can hand the code to `transport.finishAuth`.
 */
type ClientInformation = { client_id: string; client_secret?: string } & Record<string, unknown>;
type Tokens = { access_token: string; token_type: string; scope?: string; refresh_token?: string } & Record<string, unknown>;

export class SignInAsProvider {
  readonly redirectUrl = 'http://127.0.0.1:6274/oauth/callback';
  information: ClientInformation | undefined;
  stored: Tokens | undefined;
  verifier = '';
  discovery: unknown;
  /** Every authorization URL the SDK sent the "user" to, in order. */
  readonly authorizations: URL[] = [];
  callback: URL | undefined;

  constructor(
    readonly user: string,
    readonly org?: string,
    /** Register for refresh tokens. The v1 SDK refreshes instead of re-authorizing on a 403 step-up
     *  when it holds one, so the scope never widens (typescript-sdk#2255; fixed in the v2 client). */
    readonly refreshTokens = true,
    /** Sign in as soon as the SDK redirects; off when a test drives the authorization itself. */
    readonly autoSignIn = true,
  ) {}

  get clientMetadata() {
    return {
      client_name: 'e2e MCP client',
      redirect_uris: [this.redirectUrl],
      grant_types: this.refreshTokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: ClientInformation) {
    this.information = information;
  }
  tokens() {
    return this.stored;
  }
  saveTokens(tokens: Tokens) {
    this.stored = tokens;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations.push(url);
    if (!this.autoSignIn) return;
    this.callback = await authorizeOverHttp({ authorizationUrl: url, user: this.user, ...(this.org ? { org: this.org } : {}) });
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  saveDiscoveryState(state: unknown) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery as never;
  }
  /** The code from the last sign-in; fails loudly if the SDK never redirected. */
  takeCallback(): URL {
    const callback = this.callback;
    if (!callback?.searchParams.get('code')) throw new Error(`no authorization code: ${callback?.href ?? 'the SDK did not redirect'}`);
    this.callback = undefined;
    return callback;
  }
}
