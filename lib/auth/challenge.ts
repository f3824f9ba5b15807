import { RPC_ERRORS, type Refusal } from '../http/answers';
import { advertisedScopes } from '../scope-hierarchy';

/**
 * WWW-Authenticate challenges (RFC 6750 §3, RFC 9728 §5.1) as pure functions of a decision.
 * Values are restricted to the RFC 6750 character sets, so nothing a caller sends can reach a header.
 */
export type Challenge =
  /** No credentials and the operation needs some: the client starts OAuth. */
  | { kind: 'authentication_required'; scopes: readonly string[] }
  | { kind: 'invalid_token'; description: string }
  /** Step-up: `scopes` is what the client should request (granted ∪ required). */
  | { kind: 'insufficient_scope'; scopes: readonly string[]; description?: string }
  | { kind: 'invalid_request'; description: string };

type ChallengeKind = Challenge['kind'];
type ChallengeAnswer<K extends ChallengeKind> = {
  status: 400 | 401 | 403;
  rpcCode: number;
  message: (challenge: Extract<Challenge, { kind: K }>) => string;
};

/** Per challenge: the HTTP status, the JSON-RPC error code and the message of the body beside the header. */
const CHALLENGE_ANSWER: { [K in ChallengeKind]: ChallengeAnswer<K> } = {
  authentication_required: {
    status: 401,
    rpcCode: RPC_ERRORS.unauthorized,
    message: () => 'Authentication required: sign in through the authorization server in WWW-Authenticate',
  },
  invalid_token: { status: 401, rpcCode: RPC_ERRORS.unauthorized, message: (c) => c.description },
  insufficient_scope: {
    status: 403,
    rpcCode: RPC_ERRORS.forbidden,
    message: () => 'Insufficient scope: re-authorize with the scopes in WWW-Authenticate',
  },
  invalid_request: { status: 400, rpcCode: RPC_ERRORS.invalidRequest, message: (c) => c.description },
};

export function challengeStatus(challenge: Challenge): 400 | 401 | 403 {
  return CHALLENGE_ANSWER[challenge.kind].status;
}

/** A challenge as a refusal, from the one table: its status, code and message, and the header beside them. */
export function challengeRefusal(challenge: Challenge, resourceMetadataUrl: string): Refusal {
  const answer = CHALLENGE_ANSWER[challenge.kind] as ChallengeAnswer<typeof challenge.kind>;
  return {
    status: answer.status,
    code: answer.rpcCode,
    message: answer.message(challenge as never),
    reason: challenge.kind,
    headers: { 'www-authenticate': wwwAuthenticate(challenge, resourceMetadataUrl) },
  };
}

/** error / error_description may use %x20-21 / %x23-5B / %x5D-7E only (RFC 6750 §3). */
export function sanitizeDescription(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '').slice(0, 200);
}

/** scope-token = 1*( %x21 / %x23-5B / %x5D-7E ); anything else is dropped, never escaped. */
export function isScopeToken(scope: string): boolean {
  return /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope);
}

/** Never `offline_access` (SEP-2207): a step-up keeps the granted scopes, but not that one. */
function scopeParam(scopes: readonly string[]): string {
  return advertisedScopes(scopes.filter(isScopeToken)).join(' ');
}

function param(name: string, value: string): string {
  return `${name}="${value}"`;
}

export function wwwAuthenticate(challenge: Challenge, resourceMetadataUrl: string): string {
  const params: string[] = [];
  switch (challenge.kind) {
    case 'authentication_required': {
      params.push(param('resource_metadata', resourceMetadataUrl));
      const scope = scopeParam(challenge.scopes);
      if (scope) params.push(param('scope', scope));
      break;
    }
    case 'invalid_token':
      params.push(param('error', 'invalid_token'));
      params.push(param('error_description', sanitizeDescription(challenge.description)));
      params.push(param('resource_metadata', resourceMetadataUrl));
      break;
    case 'insufficient_scope': {
      params.push(param('error', 'insufficient_scope'));
      const scope = scopeParam(challenge.scopes);
      if (scope) params.push(param('scope', scope));
      if (challenge.description) params.push(param('error_description', sanitizeDescription(challenge.description)));
      params.push(param('resource_metadata', resourceMetadataUrl));
      break;
    }
    case 'invalid_request':
      params.push(param('error', 'invalid_request'));
      break;
  }
  return `Bearer ${params.join(', ')}`;
}
