// Which names the local authorization server answers to. A page on another
// host name that resolves to 127.0.0.1 (DNS rebinding) reaches this server with
// its own name in `Host`; only the loopback names of our own port, and the
// configured issuer's, get past the first check, before any page or API logic.

/** `host:port` authorities this server accepts in `Host`, lower-case. */
export function ownAuthorities(port: number, issuer: string): ReadonlySet<string> {
  return new Set([`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, new URL(issuer).host.toLowerCase()]);
}

export function isOwnHost(host: string | undefined, authorities: ReadonlySet<string>): boolean {
  return host !== undefined && authorities.has(host.toLowerCase());
}

/**
 * Log lines carry client-chosen text (client names, error descriptions); a
 * newline or escape sequence in it must not forge a line or drive the terminal.
 */
export function escapeControlChars(line: string): string {
  return line.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this function's job
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
