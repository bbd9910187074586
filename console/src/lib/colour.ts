// The portal's accent colour comes from the config ([console] accent_color, "#rgb" or
// "#rrggbb"): whatever a product picks, text on it and links in it must stay readable (WCAG AA,
// 4.5:1), so the text colour on the accent and the link colour are derived here.

/** [r, g, b] in 0–255, or null for anything but #rgb / #rrggbb. */
export function parseHex(colour: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour.trim());
  if (!m) return null;
  const hex = (m[1] as string).length === 3 ? [...(m[1] as string)].map((c) => c + c).join("") : (m[1] as string);
  return [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** WCAG 2 relative luminance. */
export function luminance([r, g, b]: [number, number, number]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a: [number, number, number], b: [number, number, number]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const WHITE: [number, number, number] = [255, 255, 255];
const INK = "#1c1e21";
const INK_RGB = parseHex(INK) as [number, number, number];

export interface AccentVars {
  /** Buttons' background and borders. */
  accent: string;
  /** Text on the accent: white, or ink when white would not be readable on it. */
  onAccent: string;
  /** Links and the brand on the white page: the accent when readable there, else ink. */
  accentText: string;
}

/** The CSS custom properties for a configured accent, or null for one that is not a colour. */
export function accentVars(colour: string): AccentVars | null {
  const rgb = parseHex(colour);
  if (!rgb) return null;
  const onWhite = contrast(rgb, WHITE);
  return {
    accent: colour.trim().toLowerCase(),
    onAccent: onWhite >= contrast(rgb, INK_RGB) ? "#ffffff" : INK,
    accentText: onWhite >= 4.5 ? colour.trim().toLowerCase() : INK,
  };
}
