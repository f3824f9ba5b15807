import type { CSSProperties } from 'react';

/** Styles for the landing page: inline, plus one <style> for what cannot be inline; no CSS pipeline, no client-side JS. */

/** Wide content scrolls inside its own box, never the page (phone-width screens). */
export const scrollBox: CSSProperties = { overflowX: 'auto', maxWidth: '100%' };

export const snippet: CSSProperties = {
  ...scrollBox,
  background: '#f4f4f5',
  border: '1px solid #e4e4e7',
  borderRadius: 4,
  padding: '0.6rem 0.75rem',
  fontSize: '0.85rem',
  lineHeight: 1.4,
  margin: '0.25rem 0 1rem',
};

/** The class of the page's tables; TABLE_CSS styles it. */
export const TABLE = 'landing-table';

/**
 * The one stylesheet, rendered in a <style> by the page: a media query cannot be an inline style.
 * On a narrow screen (a phone) each row becomes a block with one line per cell, each named by its
 * `data-label` (a cell without one, the tool's name or its description, stands on its own), so every
 * cell is readable without scrolling the table sideways; the header row stays for screen readers only.
 */
export const TABLE_CSS = `
.${TABLE} { border-collapse: collapse; width: 100%; }
.${TABLE} th, .${TABLE} td { padding: 0.35rem 0.75rem 0.35rem 0; border-bottom: 1px solid #ddd; vertical-align: top; text-align: left; }
.${TABLE} td.prose { min-width: 14rem; }
@media (max-width: 40rem) {
  .${TABLE}, .${TABLE} tbody, .${TABLE} tr, .${TABLE} td { display: block; width: auto; }
  .${TABLE} thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  .${TABLE} tr { border-bottom: 1px solid #ddd; padding: 0.5rem 0; }
  .${TABLE} td { border: 0; padding: 0.1rem 0; }
  .${TABLE} td.prose { min-width: 0; color: #3f3f46; }
  .${TABLE} td:first-child:not([data-label]) { font-weight: 600; }
  .${TABLE} td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
}
`;
