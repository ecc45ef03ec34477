// The API's double-submit CSRF defence: the session's token is readable in the
// `whv_csrf` cookie and every mutation made with the cookie sends it back.
export const CSRF_COOKIE = "whv_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

export function csrfToken(cookies: string = document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return null;
}
