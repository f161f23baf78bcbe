// What the perf/ scripts share: their command-line options (`flag("--write")` is true when
// given, `opt("--rounds", "5")` is the word after the option, or the default) and medians.
export function benchArgs(argv = process.argv.slice(2)) {
  const flag = (name) => argv.includes(name);
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
  };
  return { argv, flag, opt };
}

/** The median of the finite values (NaN when there are none). */
export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
