import type { CSSProperties } from 'react';

/** Inline styles for the landing page: no CSS pipeline, no client-side JS. */
export const cell: CSSProperties = {
  padding: '0.35rem 0.75rem 0.35rem 0',
  borderBottom: '1px solid #ddd',
  verticalAlign: 'top',
  textAlign: 'left',
};

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
