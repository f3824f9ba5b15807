import { describe, expect, it } from 'vitest';
import { forwardedRequest } from '@/lib/endpoint/forwarded-request';

const body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ping","arguments":{"message":"é"}}}';
const incoming = () =>
  new Request('http://127.0.0.1:3000/mcp?x=1', {
    method: 'POST',
    headers: {
      authorization: 'Bearer secret.token.value',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'x-extra': 'kept',
    },
    body,
  });
const bytesOf = (text: string) => new TextEncoder().encode(text);

describe('the request handed to mcp-handler', () => {
  it('keeps the URL, method and headers except Authorization, and carries the identity', () => {
    const auth = { token: '', clientId: 'c', scopes: ['s'] };
    const forwarded = forwardedRequest(incoming(), bytesOf(body), auth);
    expect(forwarded.url).toBe('http://127.0.0.1:3000/mcp?x=1');
    expect(forwarded.method).toBe('POST');
    expect(forwarded.headers.get('authorization')).toBeNull();
    expect([...forwarded.headers.keys()]).toEqual(['accept', 'content-type', 'x-extra']);
    expect(forwarded.auth).toBe(auth);
  });

  it("carries the caller's abort signal: a client that disconnects is seen by the SDK", () => {
    const controller = new AbortController();
    const request = new Request('http://127.0.0.1:3000/mcp', { method: 'POST', body, signal: controller.signal });
    const forwarded = forwardedRequest(request, bytesOf(body), undefined);
    expect(forwarded.signal.aborted).toBe(false);
    controller.abort();
    expect(forwarded.signal.aborted).toBe(true);
  });

  it('serves the gated bytes from every body reader, as often as asked', async () => {
    const forwarded = forwardedRequest(incoming(), bytesOf(body), undefined);
    expect(await forwarded.clone().json()).toEqual(JSON.parse(body));
    expect(await forwarded.text()).toBe(body);
    expect(await forwarded.json()).toEqual(JSON.parse(body));
    expect(new TextDecoder().decode(await forwarded.arrayBuffer())).toBe(body);
    expect(new TextDecoder().decode(await forwarded.bytes())).toBe(body);
    expect(await (await forwarded.blob()).text()).toBe(body);
    expect(await new Response(forwarded.body).text()).toBe(body);
    expect(await new Response(forwarded.body).text()).toBe(body); // a fresh stream each time
  });

  it('parses afresh on each read: nothing the SDK gets is an object someone else holds', async () => {
    const forwarded = forwardedRequest(incoming(), bytesOf(body), undefined);
    const first = (await forwarded.json()) as { params: { name: string } };
    first.params.name = 'changed';
    expect(await forwarded.clone().json()).toEqual(JSON.parse(body));
  });

  it('hands out copies of the bytes, so a reader cannot change what the next one sees', async () => {
    const bytes = bytesOf(body);
    const forwarded = forwardedRequest(incoming(), bytes, undefined);
    (await forwarded.bytes()).fill(0);
    new Uint8Array(await forwarded.arrayBuffer()).fill(0);
    expect(await forwarded.text()).toBe(body);
  });

  it('lets a body that is not JSON fail to parse exactly as the bytes say', async () => {
    const forwarded = forwardedRequest(incoming(), bytesOf('{"jsonrpc":'), undefined);
    await expect(forwarded.json()).rejects.toThrow(SyntaxError);
    expect(await forwarded.text()).toBe('{"jsonrpc":');
  });
});
