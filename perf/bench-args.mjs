// Command-line options of the perf/ scripts: `flag("--write")` is true when given,
// `opt("--rounds", "5")` is the word after the option, or the default.
export function benchArgs(argv = process.argv.slice(2)) {
  const flag = (name) => argv.includes(name);
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
  };
  return { argv, flag, opt };
}
