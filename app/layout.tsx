import type { ReactNode } from 'react';

export const metadata = {
  title: 'Edge MCP server with AuthKit',
  description: 'An MCP server on the Edge with identity behind every tool call',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body
        style={{
          fontFamily: 'system-ui, sans-serif',
          overflowWrap: 'break-word',
          maxWidth: 880,
          margin: '2rem auto',
          padding: '0 1rem',
          lineHeight: 1.5,
        }}
      >
        {children}
      </body>
    </html>
  );
}
