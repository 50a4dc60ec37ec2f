/**
 * Free text from clients is shown to consumers and regulators: refuse characters that hide or
 * reorder what a reader sees (control, zero-width and bidirectional-override characters).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

export const UNSAFE_TEXT_MESSAGE = "must not contain control, zero-width or bidirectional-override characters";

export function hasUnsafeCharacters(text: string): boolean {
  return UNSAFE.test(text);
}
