/**
 * Both engines end a page with a form feed and stray blank lines; callers store and hash the text,
 * so the same page must come out the same whichever engine read it.
 */
export function normalizeOcrText(text: string): string {
  return text.replace(/\f/g, '').replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
}
