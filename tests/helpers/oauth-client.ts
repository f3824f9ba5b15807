import { authorizeOverHttp } from '../../scripts/oauth-client/flow';

type ClientInformation = { client_id: string; client_secret?: string } & Record<string, unknown>;
type Tokens = { access_token: string; token_type: string; scope?: string; refresh_token?: string } & Record<
  string,
  unknown
>;

/**
 * The storage half of an `OAuthClientProvider` for the MCP SDK clients (v2 and v1 share this
 * shape), kept in memory. Subclasses decide what "sending the user to the authorization endpoint"
 * means: a person in a browser, or the local server's forms over plain HTTP.
 */
export abstract class MemoryOAuthProvider {
  information: ClientInformation | undefined;
  stored: Tokens | undefined;
  verifier = '';
  discovery: unknown;
  /** Every authorization URL the SDK sent the user to, in order. */
  readonly authorizations: URL[] = [];

  constructor(
    readonly redirectUrl: string,
    /** Register for refresh tokens. The v1 SDK refreshes instead of re-authorizing on a 403 step-up
     *  when it holds one, so the scope never widens (typescript-sdk#2255; fixed in the v2 client). */
    readonly refreshTokens = true,
    readonly clientName = 'e2e MCP client',
  ) {}

  get clientMetadata() {
    return {
      client_name: this.clientName,
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
    await this.sendUserTo(url);
  }
  protected abstract sendUserTo(url: URL): Promise<void>;
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
}

/**
 * Signs in as the chosen user over plain HTTP (the local server's sign-in and consent forms, no
 * browser) when the SDK redirects, and keeps the callback URL so the test can hand the code to
 * `transport.finishAuth`. For server-side protocol tests; what a person does is tested with
 * `BrowserOAuthProvider` (tests/helpers/browser-oauth-provider.ts).
 */
export class SignInAsProvider extends MemoryOAuthProvider {
  callback: URL | undefined;

  constructor(
    readonly user: string,
    readonly org?: string,
    refreshTokens = true,
    /** Sign in as soon as the SDK redirects; off when a test drives the authorization itself. */
    readonly autoSignIn = true,
  ) {
    super('http://127.0.0.1:6274/oauth/callback', refreshTokens);
  }

  protected async sendUserTo(url: URL) {
    if (!this.autoSignIn) return;
    this.callback = await authorizeOverHttp({
      authorizationUrl: url,
      user: this.user,
      ...(this.org ? { org: this.org } : {}),
    });
  }

  /** The code from the last sign-in; fails loudly if the SDK never redirected. */
  takeCallback(): URL {
    const callback = this.callback;
    if (!callback?.searchParams.get('code'))
      throw new Error(`no authorization code: ${callback?.href ?? 'the SDK did not redirect'}`);
    this.callback = undefined;
    return callback;
  }
}
