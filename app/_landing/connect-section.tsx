import { connectSnippets } from './connect-snippets';
import { snippet } from './styles';

/** One copyable block per client, all for the configured MCP URL. */
export function ConnectSection({ mcpUrl }: { mcpUrl: string }) {
  return (
    <section id="connect">
      <h2>Connect a client</h2>
      {connectSnippets(mcpUrl).map((s) => (
        <div key={s.id} data-client={s.id}>
          <h3 style={{ marginBottom: '0.25rem' }}>{s.client}</h3>
          <p style={{ margin: '0.25rem 0' }}>{s.how}</p>
          <pre style={snippet}>
            <code data-language={s.language}>{s.code}</code>
          </pre>
        </div>
      ))}
      <p>
        Clients that sign in only while connecting (for example mcporter&apos;s ad-hoc mode,{' '}
        <code>npx mcporter call --allow-http {mcpUrl}.whoami</code>) never start OAuth here, because connecting and{' '}
        <code>tools/list</code> are public. Use the client&apos;s own OAuth setting (mcporter&apos;s{' '}
        <code>--auth oauth</code>, above), or run the server with <code>MCP_AUTH_REQUIRED=true</code> so every request
        asks for a token.
      </p>
    </section>
  );
}
