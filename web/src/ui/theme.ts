// The ISP's colours as CSS variables on the document; the stylesheet uses only these.
export type Theme = { primaryColor?: string | null; secondaryColor?: string | null };

const HEX = /^#[0-9a-fA-F]{6}$/;

export function applyTheme(theme: Theme | null | undefined, root: HTMLElement = document.documentElement): void {
  const set = (name: string, value: string | null | undefined) =>
    value && HEX.test(value) ? root.style.setProperty(name, value) : root.style.removeProperty(name);
  set("--primary", theme?.primaryColor);
  set("--secondary", theme?.secondaryColor);
}
