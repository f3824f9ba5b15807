import { describe, expect, it } from 'vitest';
import { actorChain, type Classification, classifyCaller, type KindClaims } from '@/lib/auth/caller-kind';

/**
 * The caller classification, one row per shape a token can have: WorkOS user tokens (a consent id
 * in `sid`, `sub` a user), M2M tokens (no `sid`, `sub` = `client_id`), Agent Auth tokens
 * (`sub_profile` other than `user`), RFC 8693 exchanged tokens (`act`), and every mix of them that
 * fits no kind, which must be refused rather than taken for a person.
 */
const USER: KindClaims = { sub: 'user_alice', client_id: 'client_app', sid: 'app_consent_1' };
const MACHINE: KindClaims = { sub: 'client_job', client_id: 'client_job' };

const rows: Array<[string, KindClaims, Classification]> = [
  ['a WorkOS user token', USER, { ok: true, kind: 'user', actors: [] }],
  ['a user token whose client_id is absent', { sub: 'user_alice', sid: 's' }, { ok: true, kind: 'user', actors: [] }],
  ['a user token saying sub_profile user', { ...USER, sub_profile: 'user' }, { ok: true, kind: 'user', actors: [] }],
  [
    'a user token exchanged for an actor',
    { ...USER, act: { sub: 'agent_1' } },
    { ok: true, kind: 'user', actors: ['agent_1'] },
  ],
  [
    'a two-hop delegation keeps the chain, current actor first',
    { ...USER, act: { sub: 'agent_2', act: { sub: 'agent_1' } } },
    { ok: true, kind: 'user', actors: ['agent_2', 'agent_1'] },
  ],
  ['a WorkOS M2M token', MACHINE, { ok: true, kind: 'machine', actors: [] }],
  [
    'an agent token',
    { sub: 'agent_7', client_id: 'client_agents', sub_profile: 'agent' },
    { ok: true, kind: 'agent', actors: [] },
  ],
  [
    'an agent acting for a person',
    { sub: 'agent_7', client_id: 'client_agents', sub_profile: 'agent', act: { sub: 'user_alice' } },
    { ok: true, kind: 'agent', actors: ['user_alice'] },
  ],
  [
    'an agent token with a session',
    { sub: 'agent_7', client_id: 'c', sid: 's', sub_profile: 'agent' },
    { ok: true, kind: 'agent', actors: [] },
  ],
  // Refused: fits no kind, or two.
  ['no sid and sub is not the client', { sub: 'user_alice', client_id: 'client_app' }, unclassifiable()],
  ['no sid and no client_id', { sub: 'user_alice' }, unclassifiable()],
  ['a session whose subject is the client', { ...MACHINE, sid: 's' }, unclassifiable()],
  ['a machine claiming sub_profile user', { ...MACHINE, sub_profile: 'user' }, unclassifiable()],
  ['sub_profile user without a session', { sub: 'user_alice', client_id: 'c', sub_profile: 'user' }, unclassifiable()],
  ['a machine acting for someone', { ...MACHINE, act: { sub: 'user_alice' } }, unclassifiable()],
  ['an agent shaped like a machine too', { ...MACHINE, sub_profile: 'agent' }, unclassifiable()],
  ['a sub_profile that is not a string', { ...USER, sub_profile: ['agent'] }, unclassifiable()],
  // Refused: sender-constrained, whatever else it says.
  ['a DPoP-bound user token', { ...USER, cnf: { jkt: 'abc' } }, { ok: false, reason: 'sender_constrained' }],
  [
    'an mTLS-bound machine token',
    { ...MACHINE, cnf: { 'x5t#S256': 'x' } },
    { ok: false, reason: 'sender_constrained' },
  ],
  ['an empty cnf', { ...USER, cnf: {} }, { ok: false, reason: 'sender_constrained' }],
  ['a null cnf', { ...USER, cnf: null }, { ok: false, reason: 'sender_constrained' }],
  // Refused: an actor chain that is not one.
  ['act without sub', { ...USER, act: {} }, { ok: false, reason: 'invalid_actor' }],
  ['act as a string', { ...USER, act: 'agent_1' }, { ok: false, reason: 'invalid_actor' }],
  ['act with an empty sub', { ...USER, act: { sub: '' } }, { ok: false, reason: 'invalid_actor' }],
  ['act as an array', { ...USER, act: [{ sub: 'a' }] }, { ok: false, reason: 'invalid_actor' }],
];

function unclassifiable(): Classification {
  return { ok: false, reason: 'unclassifiable' };
}

describe('classifyCaller', () => {
  it.each(rows)('%s', (_name, claims, expected) => {
    expect(classifyCaller(claims)).toEqual(expected);
  });

  it('never answers user for a token without a session', () => {
    for (const [, claims, result] of rows)
      if (claims.sid === undefined && result.ok) expect(result.kind).not.toBe('user');
  });
});

describe('actorChain', () => {
  it('stops at eight hops rather than following a chain without end', () => {
    let act: unknown;
    for (let i = 0; i < 8; i++) act = { sub: `a${i}`, ...(act ? { act } : {}) };
    expect(actorChain(act)).toHaveLength(8);
    expect(actorChain({ sub: 'a8', act })).toBeUndefined();
  });

  it('is empty without act', () => {
    expect(actorChain(undefined)).toEqual([]);
  });
});
